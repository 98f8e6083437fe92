// The compiler's cache prefetch hint, which Swift cannot name: graph search asks for a neighbour's
// vector while it checks the next one, as hnswlib does. A hint only; no code is linked.
static inline void akin_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
