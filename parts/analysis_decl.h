/* ---------------------------------------------------------------------------------------------
   Analysis: where attention degenerates, and which sub-layers matter (declarations).

   Inheritune (arXiv 2404.08634, sec. 2 and appendix C): for every layer l, head h and sequence n,
   A is the (T,T) post-softmax causal attention matrix.
     approximate rank  k*(tau) = min{k : sum_{i<=k} s_i^2 / sum_j s_j^2 >= tau}, s the singular values
     column mass       p_j = ||A[:,j]||^2 / ||A||_F^2 sorted descending, m*(eta) = min{m : top m >= eta}
     Rank(h,l), Mass(h,l): means over sequences; MaxRank(l) = max_h Rank, AvgMass(l) = mean_h Mass
     lazy layer: MaxRank(l) = 1 (every head rank 1 on every sequence); a contiguous group of layers
     is lazy when the floor of its mean MaxRank is 1.
   Peer measures from the same forward passes:
     sink score       mean over queries of the attention on key 0 (StreamingLLM), per head and layer
     block influence  1 - mean cos(x_l, x_{l+1}) over tokens (ShortGPT, arXiv 2403.03853)
     angular distance arccos(cos(x_l, x_{l+n}))/pi on the last token (Gromov et al., arXiv 2403.17887)
     attn importance  1 - mean cos(X, X + Attn(LN(X))) over tokens (He et al., arXiv 2406.15786)
     entropy          of attention rows, natural log, mean over rows, heads and sequences
   x_l is the residual stream entering block l (x_L leaves the last block).

   Thresholds: a cumulative fraction counts as reaching tau (or eta) when it is within 1e-12 of it,
   so that exact ties (the identity matrix: k/T) are not lost to rounding. */
#ifndef INH_HAVE_ANALYSIS
#define INH_HAVE_ANALYSIS

/* Singular values of the (M,N) row-major matrix a, descending, into s (min(M,N) values).
   One-sided Jacobi (Hestenes) in double; sum s_i^2 = ||a||_F^2 to rounding. */
INHDEF int inh_svd_values(const double *a, int M, int N, double *s);
/* Eigenvalues of the symmetric (n,n) row-major matrix g, descending, into w (Householder
   tridiagonalisation, then implicit QL). The analysis uses it on A A^T: 10x faster than Jacobi. */
INHDEF int inh_sym_eigenvalues(const double *g, int n, double *w);
/* k*(tau) from n squared singular values sorted descending; 0 when they are all zero. */
INHDEF int inh_energy_rank(const double *s2, int n, double tau);
/* For one (T,T) row-major attention matrix: k*(tau), and m*(eta). -1 on failure (inh_error). */
INHDEF int inh_attention_rank(const float *A, int T, double tau);
INHDEF int inh_attention_mass(const float *A, int T, double eta);

typedef struct {
    int seqs, T;         /* N sequences of T tokens (default 100 x 100) */
    int batch;           /* sequences per forward pass (default 8): memory grows with this, not N */
    int shuffle;         /* 1: random windows of the data (seeded); 0: consecutive windows from token 0 */
    uint64_t seed;       /* default 1337 */
    double tau, eta;     /* default 0.9, 0.9; each in (0, 1] */
    int span;            /* angular distance between x_l and x_{l+span} (default 1) */
    int keep_attention;  /* keep every head's attention of the first sequence (heat maps) */
} inh_analysis_opts;

typedef struct {
    int L, NH, T, seqs;          /* seqs: sequences accumulated so far */
    double tau, eta;
    int span;
    /* per layer and head (L, NH), means over sequences */
    float *rank, *mass, *sink, *entropy;
    int *rank_max;               /* largest k* seen on any sequence */
    /* per layer (L) */
    float *max_rank, *avg_mass, *sink_layer, *entropy_layer;
    float *block_influence, *angular_distance, *attn_importance;   /* angular: NaN past L - span */
    unsigned char *lazy, *dropped;   /* dropped: attention skipped (m->drop_attn), no attention metrics */
    int n_groups, *groups;       /* lazy groups [first, last] pairs, maximal, left to right */
    int lazy_from;               /* smallest s with floor MaxRank(s) = 1 and s..L-1 a lazy group; L if none */
    float loss;                  /* mean next-token loss of the analysed tokens (NaN without targets) */
    float *attention;            /* (L, NH, T, T) of the first sequence when keep_attention, else NULL */
    double seconds;              /* wall time of inh_analyze (forward passes included) */
    double *sum_;                /* private running sums */
    double loss_sum_, loss_n_;
} inh_analysis;

INHDEF void inh_analysis_opts_default(inh_analysis_opts *o);
/* Streaming use: init, then after each inh_model_forward of B sequences of o->T tokens call add
   (it reads m->acts), then finish to turn sums into means. Memory does not grow with sequences. */
INHDEF int  inh_analysis_init(inh_analysis *a, const inh_model *m, const inh_analysis_opts *o);
INHDEF int  inh_analysis_add(inh_analysis *a, const inh_model *m);
INHDEF void inh_analysis_finish(inh_analysis *a);
INHDEF void inh_analysis_free(inh_analysis *a);
/* The whole pass over o->seqs windows of d (d's position and mode are restored). Checks tau, eta,
   T <= maxT and that d holds the windows. Layers with m->drop_attn set are analysed as skipped. */
INHDEF int  inh_analyze(inh_model *m, inh_data *d, const inh_analysis_opts *o, inh_analysis *a);

/* Metric names: "attn_importance", "block_influence", "angular_distance", "max_rank", "avg_mass",
   "sink". order (L) receives the layers least important first: lowest value first, except sink
   (highest first: a layer that only looks at key 0 does little). Ties: lower attn_importance, then
   the later layer. Returns -1 for an unknown name. */
INHDEF int  inh_analysis_order(const inh_analysis *a, const char *metric, int *order);

/* Set m->drop_attn from a spec: "" or "none", a list "9,10,11", "last:K", or "auto:K[:METRIC]"
   (the K least important layers by METRIC, default attn_importance, from a short analysis of d:
   o, or if NULL min(32,...) random windows of min(maxT,128) tokens; d may be NULL otherwise). */
INHDEF int  inh_drop_attn_set(inh_model *m, const char *spec, inh_data *d, const inh_analysis_opts *o);

/* Loss and speed with attention dropped in k = 0..L layers, per curve: curve c drops the first k
   layers of orders[c*L ...]. Loss: inh_eval_loss(B, T, nbatches); speed: tokens/s of the fastest of
   up to 5 such runs (while they take under 0.2 s in all). m->drop_attn is restored. */
typedef struct {
    int L, curves;
    char names[2][48];           /* "last k", "auto: attn_importance" */
    int *order;                  /* (curves, L) */
    float *loss;                 /* (curves, L+1) */
    double *tokens_per_s;        /* (curves, L+1) */
} inh_sweep;
INHDEF int  inh_drop_sweep(inh_model *m, inh_data *d, int B, int T, int nbatches, const int *orders, int curves,
                           const char *const *names, inh_sweep *s);
INHDEF void inh_sweep_free(inh_sweep *s);

/* Reports, self-contained (no scripts, no fetched fonts; heat maps are embedded PNGs).
   layers/nlayers: the layers whose heads get heat maps (needs keep_attention); NULL = none. */
INHDEF int  inh_analysis_write_json(const inh_analysis *a, const char *path);
INHDEF int  inh_analysis_write_svg(const inh_analysis *a, const int *layers, int nlayers, const char *path);
INHDEF int  inh_analysis_write_html(const inh_analysis *a, const int *layers, int nlayers, const char *path);
INHDEF int  inh_sweep_write_svg(const inh_sweep *s, const char *path);
INHDEF int  inh_sweep_write_html(const inh_sweep *s, const char *path);

#endif /* INH_HAVE_ANALYSIS */
