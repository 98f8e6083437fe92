/// Which triplets of a batch the loss is taken over, mined online from the batch's distance matrix
/// (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss"; Schroff et al. 2015, FaceNet).
/// A triplet is (a, p, n): a ≠ p of one class, n of another.
///
/// Every mining reduces like pytorch-metric-learning's TripletMarginLoss with its default
/// AvgNonZeroReducer: the mean over the mined triplets whose hinge loss max(0, D_ap − D_an + m) is
/// non-zero, and 0 when none is. With a soft margin the loss softplus(D_ap − D_an) is never zero, so
/// it is the mean over all mined triplets.
public enum TripletMining: String, Codable, Sendable, CaseIterable {
    /// Batch-all: every triplet of the batch.
    case all
    /// Batch-hard: one triplet per anchor, its farthest positive and its nearest negative
    /// (pytorch-metric-learning's BatchHardMiner).
    case hard
    /// Semi-hard: one triplet per (a, p) pair, with the nearest negative farther than p (D_an > D_ap),
    /// or, when no negative is farther, the nearest negative of all.
    case semiHard = "semi-hard"
}
