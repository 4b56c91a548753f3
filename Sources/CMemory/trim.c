#include "CMemory.h"

#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

int lambda_xds_trim_heap(void) {
#if defined(__GLIBC__)
  return malloc_trim(0);
#else
  return 0;
#endif
}
