/* Compiles keepout.h alone, as C99, with the full warning set. */
#include "keepout/keepout.h"

int header_compiles_as_c(void);
int header_compiles_as_c(void) {
    return KO_OK;
}
