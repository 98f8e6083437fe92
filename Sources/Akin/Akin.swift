// `import Akin` is the whole library: the front door below (``Gallery``, ``TrainingRun``,
// ``RetrievalEvaluation``, ``ModelReport``) and every layer it stands on, so a program needs one import.
@_exported import Evaluation
@_exported import Images
@_exported import MPIBackend
@_exported import Networks
@_exported import Projection
@_exported import Reports
@_exported import Search
@_exported import Similarity
@_exported import Tensors
