// Open MPI from Debian (libopenmpi-dev). mpi.h lives under /usr/lib/<triplet>/openmpi/include, which
// Package.swift finds through pkg-config's ompi-c. Open MPI spells its handles as macros over
// globals (MPI_COMM_WORLD is `&ompi_mpi_comm_world` cast), which Swift cannot import: the inline
// functions below hand them to Swift.
#include <mpi.h>

static inline MPI_Comm akin_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype akin_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype akin_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Op akin_mpi_sum(void) { return MPI_SUM; }
static inline void *akin_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler akin_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int akin_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int akin_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
