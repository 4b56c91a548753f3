#ifndef LAMBDA_XDS_CMEMORY_H
#define LAMBDA_XDS_CMEMORY_H

/// Returns freed heap pages to the system (glibc's malloc_trim); a no-op elsewhere.
int lambda_xds_trim_heap(void);

#endif
