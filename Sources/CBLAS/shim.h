#ifndef QUORUM_CBLAS_SHIM_H
#define QUORUM_CBLAS_SHIM_H
#include <cblas.h>
#endif
