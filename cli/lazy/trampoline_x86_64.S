/* x86-64 System V: the first call of a lazy stub (lazy.h) comes here with the stub's index in
 * %r11d (a scratch register no argument uses) and the caller's arguments in place. The
 * argument registers (%rdi %rsi %rdx %rcx %r8 %r9, %xmm0-7, %rax: the vector count of a
 * variadic call, %r10: the static chain) are kept around the call of keepout_lazy_resolve(),
 * then the function it returns is entered as if the caller had called it. */
    .section .note.GNU-stack,"",@progbits
    .text
    .globl keepout_lazy_enter
    .hidden keepout_lazy_enter
    .type keepout_lazy_enter, @function
keepout_lazy_enter:
    /* entered by jmp from the stub: %rsp = 8 mod 16, as at any function's entry */
    pushq %rbp
    movq %rsp, %rbp
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq %r8
    pushq %r9
    pushq %rax
    pushq %r10
    subq $128, %rsp /* %rsp = 0 mod 16 here and at the call below */
    movdqu %xmm0, 0(%rsp)
    movdqu %xmm1, 16(%rsp)
    movdqu %xmm2, 32(%rsp)
    movdqu %xmm3, 48(%rsp)
    movdqu %xmm4, 64(%rsp)
    movdqu %xmm5, 80(%rsp)
    movdqu %xmm6, 96(%rsp)
    movdqu %xmm7, 112(%rsp)
    movl %r11d, %edi
    call keepout_lazy_resolve
    movq %rax, %r11
    movdqu 0(%rsp), %xmm0
    movdqu 16(%rsp), %xmm1
    movdqu 32(%rsp), %xmm2
    movdqu 48(%rsp), %xmm3
    movdqu 64(%rsp), %xmm4
    movdqu 80(%rsp), %xmm5
    movdqu 96(%rsp), %xmm6
    movdqu 112(%rsp), %xmm7
    addq $128, %rsp
    popq %r10
    popq %rax
    popq %r9
    popq %r8
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    popq %rbp
    jmp *%r11
    .size keepout_lazy_enter, .-keepout_lazy_enter
