// The same consumer as consumer.c, compiled as C++11: keepout.h must serve C++ callers too.
#include "consumer.c"
