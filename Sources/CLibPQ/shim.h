#ifndef QUORUM_CLIBPQ_SHIM_H
#define QUORUM_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
