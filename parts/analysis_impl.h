/* ---------------------------------------------------------------------------------------------
   Analysis (implementation; declarations and definitions of the metrics in analysis_decl.h) */
#ifndef INH__ANALYSIS_IMPL
#define INH__ANALYSIS_IMPL

/* --- small dense linear algebra, in double ----------------------------------------------------- */

INH__FN int inh__an_cmp_desc(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* One-sided Jacobi on the n rows (length m) of w, in place: rotate pairs of rows until every pair
   is orthogonal to m*eps relative to their norms; the row norms are then the singular values.
   d (n) receives them, descending. */
INH__FN int inh__jacobi_rows(double *w, int n, int m, double *d) {
    const double tol = 2.2e-16 * (m > 1 ? m : 1);
    int sweep;
    for (sweep = 0; sweep < 80; sweep++) {
        int rotated = 0;
        double dmax = 0.0;
        for (int i = 0; i < n; i++) {
            const double *x = w + (size_t)i * m;
            double s = 0.0;
            for (int k = 0; k < m; k++) s += x[k] * x[k];
            d[i] = s;
            if (s > dmax) dmax = s;
        }
        /* a vector shorter than 1e-17 of the longest is rounding noise (say, what is left of two
           equal rows): rotating it against others never converges, and it is a zero singular value */
        const double negligible = 1e-34 * dmax;
        for (int i = 0; i + 1 < n; i++)
            for (int j = i + 1; j < n; j++) {
                double a = d[i], b = d[j], c = 0.0;
                if (a <= negligible || b <= negligible) continue;
                double *x = w + (size_t)i * m, *y = w + (size_t)j * m;
                for (int k = 0; k < m; k++) c += x[k] * y[k];
                if (fabs(c) <= tol * sqrt(a * b)) continue;
                rotated = 1;
                /* the rotation that zeroes the (i,j) entry of the 2x2 Gram matrix [a c; c b] */
                double zeta = (b - a) / (2.0 * c);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
                double cs = 1.0 / sqrt(1.0 + t * t), sn = cs * t;
                double na = 0.0, nb = 0.0;   /* exact new norms, not a - t c: no drift below zero */
                for (int k = 0; k < m; k++) {
                    double u = x[k], v = y[k];
                    x[k] = cs * u - sn * v; y[k] = sn * u + cs * v;
                    na += x[k] * x[k]; nb += y[k] * y[k];
                }
                d[i] = na; d[j] = nb;
            }
        if (!rotated) break;
    }
    if (sweep == 80) return inh__fail("singular values: one-sided Jacobi did not converge in 80 sweeps");
    for (int i = 0; i < n; i++) {
        const double *x = w + (size_t)i * m;
        double s = 0.0;
        for (int k = 0; k < m; k++) s += x[k] * x[k];
        d[i] = sqrt(s);
    }
    qsort(d, (size_t)n, sizeof(double), inh__an_cmp_desc);
    return 0;
}

INHDEF int inh_svd_values(const double *a, int M, int N, double *s) {
    if (M <= 0 || N <= 0) return inh__fail("singular values: bad shape (%d, %d)", M, N);
    int n = M <= N ? M : N, len = M <= N ? N : M;   /* orthogonalise the shorter side's vectors */
    double *w = INH__ALLOC(double, (size_t)M * N), *d = INH__ALLOC(double, len);
    if (!w || !d) { INH_FREE(w); INH_FREE(d); return -1; }
    if (M <= N) memcpy(w, a, (size_t)M * N * sizeof(double));
    else for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) w[(size_t)j * M + i] = a[(size_t)i * N + j];
    int rc = inh__jacobi_rows(w, n, len, d);
    if (!rc) memcpy(s, d, (size_t)n * sizeof(double));
    INH_FREE(w); INH_FREE(d);
    return rc;
}

/* Eigenvalues of the symmetric (n,n) matrix whose lower triangle is in g (destroyed) into d
   (unsorted); e (n) is scratch. Householder reduction to tridiagonal form, then QL with implicit
   Wilkinson shifts (Golub & Van Loan 8.3; the eigenvalue-only form of EISPACK's tred2/tql2). */
INH__FN int inh__symeig_lower(double *g, int n, double *d, double *e) {
    for (int i = n - 1; i > 0; i--) {
        double *gi = g + (size_t)i * n, h = 0.0, scale = 0.0;
        int l = i - 1;
        for (int k = 0; k <= l; k++) scale += fabs(gi[k]);
        if (l == 0 || scale == 0.0) { e[i] = gi[l]; continue; }
        for (int k = 0; k <= l; k++) { gi[k] /= scale; h += gi[k] * gi[k]; }
        double f = gi[l], gg = f >= 0 ? -sqrt(h) : sqrt(h);
        e[i] = scale * gg; h -= f * gg; gi[l] = f - gg;      /* u = row i, H = I - u u^T / h */
        f = 0.0;
        for (int j = 0; j <= l; j++) {                        /* p = G u / h, using the lower triangle */
            const double *gj = g + (size_t)j * n;
            double s = 0.0;
            for (int k = 0; k <= j; k++) s += gj[k] * gi[k];
            for (int k = j + 1; k <= l; k++) s += g[(size_t)k * n + j] * gi[k];
            e[j] = s / h; f += e[j] * gi[j];
        }
        double hh = f / (h + h);
        for (int j = 0; j <= l; j++) {                        /* G -= u q^T + q u^T, q = p - hh u */
            double fj = gi[j], qj = e[j] - hh * fj;
            double *gj = g + (size_t)j * n;
            e[j] = qj;
            for (int k = 0; k <= j; k++) gj[k] -= fj * e[k] + qj * gi[k];
        }
    }
    for (int i = 0; i < n; i++) d[i] = g[(size_t)i * n + i];
    for (int i = 1; i < n; i++) e[i - 1] = e[i];
    if (n > 0) e[n - 1] = 0.0;
    double anorm = 0.0;   /* off-diagonals below eps^2 of the matrix scale are zero (exact zero eigenvalues) */
    for (int i = 0; i < n; i++) { double t = fabs(d[i]) + fabs(e[i]); if (t > anorm) anorm = t; }
    for (int l = 0; l < n; l++) {
        int iter = 0, m;
        for (;;) {
            for (m = l; m < n - 1; m++) {
                double dd = fabs(d[m]) + fabs(d[m + 1]);
                if (fabs(e[m]) <= 2.2e-16 * dd || fabs(e[m]) <= 1e-30 * anorm) break;
            }
            if (m == l) break;
            if (iter++ == 60) return inh__fail("eigenvalues: QL iteration did not converge");
            double gg = (d[l + 1] - d[l]) / (2.0 * e[l]), r = hypot(gg, 1.0);
            gg = d[m] - d[l] + e[l] / (gg + (gg >= 0 ? r : -r));
            double s = 1.0, c = 1.0, p = 0.0;
            int i;
            for (i = m - 1; i >= l; i--) {
                double f = s * e[i], b = c * e[i];
                e[i + 1] = r = hypot(f, gg);
                if (r == 0.0) { d[i + 1] -= p; e[m] = 0.0; break; }
                s = f / r; c = gg / r; gg = d[i + 1] - p;
                r = (d[i] - gg) * s + 2.0 * c * b;
                p = s * r; d[i + 1] = gg + p; gg = c * r - b;
            }
            if (r == 0.0 && i >= l) continue;
            d[l] -= p; e[l] = gg; e[m] = 0.0;
        }
    }
    return 0;
}

INHDEF int inh_sym_eigenvalues(const double *g, int n, double *w) {
    if (n <= 0) return inh__fail("eigenvalues: bad size %d", n);
    double *a = INH__ALLOC(double, (size_t)n * n), *e = INH__ALLOC(double, n);
    if (!a || !e) { INH_FREE(a); INH_FREE(e); return -1; }
    memcpy(a, g, (size_t)n * n * sizeof(double));
    int rc = inh__symeig_lower(a, n, w, e);
    if (!rc) qsort(w, (size_t)n, sizeof(double), inh__an_cmp_desc);
    INH_FREE(a); INH_FREE(e);
    return rc;
}

INHDEF int inh_energy_rank(const double *s2, int n, double tau) {
    double total = 0.0, cum = 0.0;
    for (int i = 0; i < n; i++) total += s2[i] > 0 ? s2[i] : 0.0;
    if (total <= 0.0) return 0;
    double need = tau * total - 1e-12 * total;   /* exact ties (k/T) survive rounding */
    for (int k = 0; k < n; k++) {
        cum += s2[k] > 0 ? s2[k] : 0.0;
        if (cum >= need) return k + 1;
    }
    return n;
}

/* --- one attention matrix ---------------------------------------------------------------------- */

/* k*(tau) of a (T,T) attention matrix from the eigenvalues of A A^T, and m*(eta), sink score and
   row entropy. A is lower triangular (causal), so (A A^T)[i][j] = sum_{k <= min(i,j)} A[i][k] A[j][k].
   work: T*T + 3T doubles. rank < 0 on failure. */
typedef struct { int rank, mass; double sink, entropy; } inh__attn_stats;
INH__FN inh__attn_stats inh__attn_matrix(const float *A, int T, double tau, double eta, double *work, int want_rank) {
    inh__attn_stats r = {0, 0, 0.0, 0.0};
    double *g = work, *d = g + (size_t)T * T, *e = d + T, *col = e + T;
    for (int j = 0; j < T; j++) col[j] = 0.0;
    for (int t = 0; t < T; t++) {
        const float *row = A + (size_t)t * T;
        double h = 0.0;
        for (int j = 0; j <= t; j++) {
            double p = row[j];
            col[j] += p * p;
            if (p > 0.0) h -= p * log(p);
        }
        r.entropy += h;
        r.sink += row[0];
    }
    r.entropy /= T; r.sink /= T;
    qsort(col, (size_t)T, sizeof(double), inh__an_cmp_desc);
    r.mass = inh_energy_rank(col, T, eta);
    if (!want_rank) return r;
    for (int i = 0; i < T; i++) {
        const float *ai = A + (size_t)i * T;
        for (int j = 0; j <= i; j++) {
            const float *aj = A + (size_t)j * T;
            double s = 0.0;
            for (int k = 0; k <= j; k++) s += (double)ai[k] * aj[k];
            g[(size_t)i * T + j] = s;
        }
    }
    if (inh__symeig_lower(g, T, d, e)) {
        /* QL did not converge (not seen in practice): the slow, sure way, Jacobi on A itself */
        for (size_t i = 0; i < (size_t)T * T; i++) g[i] = A[i];
        if (inh__jacobi_rows(g, T, T, d)) { r.rank = -1; return r; }
        for (int i = 0; i < T; i++) d[i] *= d[i];
    }
    qsort(d, (size_t)T, sizeof(double), inh__an_cmp_desc);
    r.rank = inh_energy_rank(d, T, tau);
    return r;
}

INHDEF int inh_attention_rank(const float *A, int T, double tau) {
    if (T <= 0) return inh__fail("attention rank: bad size %d", T);
    double *w = INH__ALLOC(double, (size_t)T * T + 3 * (size_t)T);
    if (!w) return -1;
    inh__attn_stats s = inh__attn_matrix(A, T, tau, 0.9, w, 1);
    INH_FREE(w);
    return s.rank;
}

INHDEF int inh_attention_mass(const float *A, int T, double eta) {
    if (T <= 0) return inh__fail("column mass: bad size %d", T);
    double *w = INH__ALLOC(double, (size_t)T * T + 3 * (size_t)T);
    if (!w) return -1;
    inh__attn_stats s = inh__attn_matrix(A, T, 0.9, eta, w, 0);
    INH_FREE(w);
    return s.mass;
}

/* --- the streaming analysis -------------------------------------------------------------------- */

INHDEF void inh_analysis_opts_default(inh_analysis_opts *o) {
    memset(o, 0, sizeof *o);
    o->seqs = 100; o->T = 100; o->batch = 8; o->shuffle = 1; o->seed = 1337;
    o->tau = 0.9; o->eta = 0.9; o->span = 1; o->keep_attention = 0;
}

/* running sums in a->sum_: per (l,h) rank, mass, sink, entropy; per l: sum of cos for block
   influence, for attention importance, sum of angular distances */
#define INH__AS_HEAD 4
#define INH__AS_LAYER 3

INHDEF void inh_analysis_free(inh_analysis *a) {
    INH_FREE(a->rank); INH_FREE(a->rank_max); INH_FREE(a->lazy);   /* other arrays point into these */
    INH_FREE(a->groups); INH_FREE(a->attention); INH_FREE(a->sum_);
    memset(a, 0, sizeof *a);
}

INHDEF int inh_analysis_init(inh_analysis *a, const inh_model *m, const inh_analysis_opts *o) {
    const inh_config *c = &m->cfg;
    int L = c->L, NH = c->NH;
    size_t LH = (size_t)L * NH;
    memset(a, 0, sizeof *a);
    if (!(o->tau > 0.0 && o->tau <= 1.0)) return inh__fail("tau must be in (0, 1], got %g", o->tau);
    if (!(o->eta > 0.0 && o->eta <= 1.0)) return inh__fail("eta must be in (0, 1], got %g", o->eta);
    if (o->T <= 0 || o->seqs <= 0 || o->batch <= 0) return inh__fail("sequences %d, length %d and batch %d must be positive", o->seqs, o->T, o->batch);
    if (o->T > c->maxT) return inh__fail("sequence length T=%d is above the model's maxT=%d", o->T, c->maxT);
    if (o->span < 1 || o->span > L) return inh__fail("angular-distance span %d must be in 1..%d (layers)", o->span, L);
    a->L = L; a->NH = NH; a->T = o->T; a->tau = o->tau; a->eta = o->eta; a->span = o->span;
    /* float blocks: (L,NH) x4, (L) x7; int blocks: rank_max (L,NH), groups 2L; bytes: lazy, dropped */
    a->rank = INH__CALLOC(float, 4 * LH + 7 * (size_t)L);
    a->rank_max = INH__CALLOC(int, LH);
    a->max_rank = NULL;
    a->lazy = INH__CALLOC(unsigned char, 2 * (size_t)L);
    a->groups = INH__CALLOC(int, 2 * (size_t)L);
    a->sum_ = INH__CALLOC(double, INH__AS_HEAD * LH + INH__AS_LAYER * (size_t)L);
    if (o->keep_attention) a->attention = INH__CALLOC(float, LH * o->T * o->T);
    if (!a->rank || !a->rank_max || !a->lazy || !a->groups || !a->sum_ || (o->keep_attention && !a->attention)) {
        inh_analysis_free(a);
        return -1;
    }
    a->mass = a->rank + LH; a->sink = a->mass + LH; a->entropy = a->sink + LH;
    float *p = a->entropy + LH;
    a->max_rank = p; a->avg_mass = p + L; a->sink_layer = p + 2 * L; a->entropy_layer = p + 3 * L;
    a->block_influence = p + 4 * L; a->angular_distance = p + 5 * L; a->attn_importance = p + 6 * L;
    a->dropped = a->lazy + L;
    for (int l = 0; l < L; l++) a->dropped[l] = m->drop_attn[l] ? 1 : 0;
    a->lazy_from = L;
    a->loss = NAN;
    return 0;
}

typedef struct {
    const inh_model *m;
    const inh_analysis *a;
    int B, T, failed;
    double *head_out;    /* (L, B, NH, 4) */
    double *layer_out;   /* (L, 3) */
} inh__an_args;

static void inh__an_heads(void *p, int lo, int hi) {
    inh__an_args *g = (inh__an_args *)p;
    int T = g->T, NH = g->a->NH, BNH = g->B * NH;
    size_t att_n = (size_t)BNH * T * T;
    double *work = INH__ALLOC(double, (size_t)T * T + 3 * (size_t)T);
    if (!work) { g->failed = 1; return; }
    for (int it = lo; it < hi; it++) {
        int l = it / BNH, bh = it % BNH;
        if (g->a->dropped[l]) continue;
        const float *A = g->m->acts.att + (size_t)l * att_n + (size_t)bh * T * T;
        inh__attn_stats s = inh__attn_matrix(A, T, g->a->tau, g->a->eta, work, 1);
        if (s.rank < 0) { g->failed = 1; break; }
        double *o = g->head_out + (size_t)it * 4;
        o[0] = s.rank; o[1] = s.mass; o[2] = s.sink; o[3] = s.entropy;
    }
    INH_FREE(work);
}

INH__FN double inh__an_cosine(const float *x, const float *y, int C) {
    double xy = 0.0, xx = 0.0, yy = 0.0;
    for (int i = 0; i < C; i++) { xy += (double)x[i] * y[i]; xx += (double)x[i] * x[i]; yy += (double)y[i] * y[i]; }
    if (xx == 0.0 || yy == 0.0) return xx == yy ? 1.0 : 0.0;
    double c = xy / sqrt(xx * yy);
    return c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
}

/* the residual stream entering block l (l = L: leaving the last block), (B,T,C) */
INH__FN const float *inh__resid_in(const inh_model *m, int l) {
    size_t NC = (size_t)m->B * m->T * m->cfg.C;
    return l == 0 ? m->acts.encoded : m->acts.res3 + (size_t)(l - 1) * NC;
}

static void inh__an_layers(void *p, int lo, int hi) {
    inh__an_args *g = (inh__an_args *)p;
    const inh_model *m = g->m;
    int C = m->cfg.C, L = m->cfg.L, N = g->B * g->T, span = g->a->span;
    size_t NC = (size_t)N * C;
    for (int l = lo; l < hi; l++) {
        const float *x = inh__resid_in(m, l), *mid = m->acts.res2 + (size_t)l * NC, *out = inh__resid_in(m, l + 1);
        double bi = 0.0, ai = 0.0, ang = 0.0;
        for (int n = 0; n < N; n++) {
            bi += inh__an_cosine(x + (size_t)n * C, out + (size_t)n * C, C);
            ai += inh__an_cosine(x + (size_t)n * C, mid + (size_t)n * C, C);
        }
        if (l + span <= L) {
            const float *far = inh__resid_in(m, l + span);
            for (int b = 0; b < g->B; b++) {
                size_t last = ((size_t)b * g->T + g->T - 1) * C;
                ang += acos(inh__an_cosine(x + last, far + last, C)) / 3.14159265358979323846;
            }
        }
        double *o = g->layer_out + (size_t)l * 3;
        o[0] = bi; o[1] = ai; o[2] = ang;
    }
}

INHDEF int inh_analysis_add(inh_analysis *a, const inh_model *m) {
    int B = m->B, T = m->T, L = a->L, NH = a->NH;
    if (!m->acts_mem || B <= 0) return inh__fail("analysis: no forward pass to analyse");
    if (T != a->T) return inh__fail("analysis: forward pass has T=%d, the analysis was set up for T=%d", T, a->T);
    for (int l = 0; l < L; l++)
        if ((m->drop_attn[l] ? 1 : 0) != a->dropped[l]) return inh__fail("analysis: layer %d's dropped attention changed between passes", l);
    inh__an_args g;
    memset(&g, 0, sizeof g);
    g.m = m; g.a = a; g.B = B; g.T = T;
    g.head_out = INH__CALLOC(double, (size_t)L * B * NH * 4);
    g.layer_out = INH__CALLOC(double, (size_t)L * 3);
    if (!g.head_out || !g.layer_out) { INH_FREE(g.head_out); INH_FREE(g.layer_out); return -1; }
    inh__parallel(m->threads, L * B * NH, inh__an_heads, &g);
    inh__parallel(m->threads, L, inh__an_layers, &g);
    if (g.failed) { INH_FREE(g.head_out); INH_FREE(g.layer_out); return inh__fail("analysis: out of memory or eigenvalues did not converge"); }
    /* sums in a fixed order: results do not depend on the thread count */
    size_t LH = (size_t)L * NH;
    for (int l = 0; l < L; l++) {
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++) {
                const double *o = g.head_out + (((size_t)l * B + b) * NH + h) * 4;
                double *s = a->sum_ + ((size_t)l * NH + h) * INH__AS_HEAD;
                for (int k = 0; k < 4; k++) s[k] += o[k];
                int *rm = a->rank_max + (size_t)l * NH + h;
                if ((int)o[0] > *rm) *rm = (int)o[0];
            }
        for (int k = 0; k < 3; k++) a->sum_[INH__AS_HEAD * LH + (size_t)l * 3 + k] += g.layer_out[(size_t)l * 3 + k];
    }
    if (a->attention && a->seqs == 0)
        for (int l = 0; l < L; l++) {
            if (a->dropped[l]) continue;
            size_t tt = (size_t)T * T;
            memcpy(a->attention + (size_t)l * NH * tt, m->acts.att + (size_t)l * B * NH * tt, (size_t)NH * tt * sizeof(float));
        }
    if (m->targets && m->mean_loss >= 0) { a->loss_sum_ += (double)m->mean_loss * B * T; a->loss_n_ += (double)B * T; }
    a->seqs += B;
    INH_FREE(g.head_out); INH_FREE(g.layer_out);
    return 0;
}

INHDEF void inh_analysis_finish(inh_analysis *a) {
    int L = a->L, NH = a->NH;
    size_t LH = (size_t)L * NH;
    double n = a->seqs, ntok = (double)a->seqs * a->T;
    for (int l = 0; l < L; l++) {
        double mx = 0.0, ms = 0.0, sk = 0.0, en = 0.0;
        for (int h = 0; h < NH; h++) {
            size_t i = (size_t)l * NH + h;
            const double *s = a->sum_ + i * INH__AS_HEAD;
            if (a->dropped[l] || n == 0) { a->rank[i] = a->mass[i] = a->sink[i] = a->entropy[i] = NAN; continue; }
            a->rank[i] = (float)(s[0] / n); a->mass[i] = (float)(s[1] / n);
            a->sink[i] = (float)(s[2] / n); a->entropy[i] = (float)(s[3] / n);
            if (s[0] / n > mx) mx = s[0] / n;
            ms += s[1] / n; sk += s[2] / n; en += s[3] / n;
        }
        int off = a->dropped[l] || n == 0;
        a->max_rank[l] = off ? NAN : (float)mx;
        a->avg_mass[l] = off ? NAN : (float)(ms / NH);
        a->sink_layer[l] = off ? NAN : (float)(sk / NH);
        a->entropy_layer[l] = off ? NAN : (float)(en / NH);
        const double *s = a->sum_ + INH__AS_HEAD * LH + (size_t)l * 3;
        a->block_influence[l] = n ? (float)(1.0 - s[0] / ntok) : NAN;
        a->attn_importance[l] = n ? (float)(1.0 - s[1] / ntok) : NAN;
        a->angular_distance[l] = n && l + a->span <= L ? (float)(s[2] / n) : NAN;
        /* lazy: every head had k* = 1 on every sequence (then MaxRank is exactly 1) */
        int lazy = !off;
        for (int h = 0; h < NH && lazy; h++) lazy = a->rank_max[(size_t)l * NH + h] == 1;
        a->lazy[l] = (unsigned char)lazy;
    }
    /* lazy groups: from the first layer not yet covered with floor(MaxRank) = 1, the farthest
       layer that also has floor(MaxRank) = 1 and keeps the group's mean below 2 */
    a->n_groups = 0;
    for (int s = 0; s < L; s++) {
        if (a->dropped[s] || !(a->max_rank[s] < 2.0f)) continue;
        int best = s;
        double sum = 0.0;
        for (int e = s; e < L && !a->dropped[e]; e++) {
            sum += a->max_rank[e];
            if (a->max_rank[e] < 2.0f && sum / (e - s + 1) < 2.0) best = e;
        }
        a->groups[2 * a->n_groups] = s; a->groups[2 * a->n_groups + 1] = best; a->n_groups++;
        s = best;
    }
    a->lazy_from = L;
    double tail = 0.0;
    for (int s = L - 1; s >= 0 && !a->dropped[s]; s--) {
        tail += a->max_rank[s];
        if (a->max_rank[s] < 2.0f && tail / (L - s) < 2.0) a->lazy_from = s;
    }
    a->loss = a->loss_n_ > 0 ? (float)(a->loss_sum_ / a->loss_n_) : NAN;
}

INHDEF int inh_analyze(inh_model *m, inh_data *d, const inh_analysis_opts *o, inh_analysis *a) {
    double t0 = inh_now();
    if (inh_analysis_init(a, m, o)) return -1;
    size_t need = o->shuffle ? (size_t)o->T + 1 : (size_t)o->seqs * o->T + 1;
    if (d->n < need) {
        inh_analysis_free(a);
        if (o->shuffle) return inh__fail("%s: %zu tokens cannot hold one window of T+1 = %d tokens", d->path, d->n, o->T + 1);
        return inh__fail("%s: %zu tokens cannot hold %d consecutive windows of %d tokens (+1): %zu needed", d->path, d->n,
                         o->seqs, o->T, need);
    }
    size_t saved_pos = d->pos;
    int saved_shuffle = d->shuffle;
    inh_rng saved_rng = d->rng;
    int B = o->batch < o->seqs ? o->batch : o->seqs, rc = 0;
    int *x = INH__ALLOC(int, (size_t)B * o->T), *y = INH__ALLOC(int, (size_t)B * o->T);
    if (!x || !y) rc = -1;
    d->pos = 0; d->shuffle = o->shuffle;
    inh_rng_seed(&d->rng, o->seed);
    for (int done = 0; !rc && done < o->seqs; done += B) {
        int nb = o->seqs - done < B ? o->seqs - done : B;
        rc = inh_data_next(d, nb, o->T, x, y);
        if (!rc) rc = inh_model_forward(m, x, y, nb, o->T);
        if (!rc) rc = inh_analysis_add(a, m);
    }
    d->pos = saved_pos; d->shuffle = saved_shuffle; d->rng = saved_rng;
    INH_FREE(x); INH_FREE(y);
    if (rc) { inh_analysis_free(a); return -1; }
    inh_analysis_finish(a);
    a->seconds = inh_now() - t0;
    return 0;
}

/* --- choosing layers ----------------------------------------------------------------------------- */

static const char *const inh__metric_names[6] = {"attn_importance", "block_influence", "angular_distance", "max_rank", "avg_mass", "sink"};
INH__FN int inh__metric_known(const char *metric) {
    for (int i = 0; i < 6; i++) if (!strcmp(metric, inh__metric_names[i])) return 1;
    return 0;
}

INH__FN const float *inh__metric(const inh_analysis *a, const char *metric, int *higher_is_lazier) {
    *higher_is_lazier = 0;
    if (!strcmp(metric, "attn_importance")) return a->attn_importance;
    if (!strcmp(metric, "block_influence")) return a->block_influence;
    if (!strcmp(metric, "angular_distance")) return a->angular_distance;
    if (!strcmp(metric, "max_rank")) return a->max_rank;
    if (!strcmp(metric, "avg_mass")) return a->avg_mass;
    if (!strcmp(metric, "sink")) { *higher_is_lazier = 1; return a->sink_layer; }
    return NULL;
}

/* 1 if layer i should come before layer j (less important) */
INH__FN int inh__less_important(const inh_analysis *a, const float *v, int hi, int i, int j) {
    float x = v[i], y = v[j];
    if (isnan(x) != isnan(y)) return isnan(y);          /* unknown values go last */
    if (!isnan(x) && x != y) return hi ? x > y : x < y;
    float p = a->attn_importance[i], q = a->attn_importance[j];
    if (!isnan(p) && !isnan(q) && p != q) return p < q;
    return i > j;
}

INHDEF int inh_analysis_order(const inh_analysis *a, const char *metric, int *order) {
    int hi;
    const float *v = inh__metric(a, metric, &hi);
    if (!v) return inh__fail("unknown metric '%s' (attn_importance, block_influence, angular_distance, max_rank, avg_mass, sink)", metric);
    for (int l = 0; l < a->L; l++) order[l] = l;
    for (int i = 1; i < a->L; i++)        /* insertion sort: L is small, and it is stable */
        for (int j = i; j > 0 && inh__less_important(a, v, hi, order[j], order[j - 1]); j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    return 0;
}

/* parse a non-negative decimal integer that fills [s, end) */
INH__FN int inh__an_parse_uint(const char *s, const char **end, int *v) {
    long x = 0;
    if (*s < '0' || *s > '9') return -1;
    while (*s >= '0' && *s <= '9') { x = x * 10 + (*s++ - '0'); if (x > 1000000) return -1; }
    *v = (int)x; *end = s;
    return 0;
}

INHDEF int inh_drop_attn_set(inh_model *m, const char *spec, inh_data *d, const inh_analysis_opts *o) {
    int L = m->cfg.L, k;
    const char *s = spec ? spec : "";
    unsigned char *want = INH__CALLOC(unsigned char, L);
    if (!want) return -1;
    if (!*s || !strcmp(s, "none")) {
        /* nothing dropped */
    } else if (!strncmp(s, "last:", 5)) {
        const char *e;
        if (inh__an_parse_uint(s + 5, &e, &k) || *e || k > L) {
            INH_FREE(want);
            return inh__fail("--drop-attn '%s': last:K needs K in 0..%d (the model has %d layers)", spec, L, L);
        }
        for (int l = L - k; l < L; l++) want[l] = 1;
    } else if (!strncmp(s, "auto:", 5)) {
        const char *e, *metric = "attn_importance";
        if (inh__an_parse_uint(s + 5, &e, &k) || (*e && *e != ':') || k > L) {
            INH_FREE(want);
            return inh__fail("--drop-attn '%s': auto:K[:METRIC] needs K in 0..%d (the model has %d layers)", spec, L, L);
        }
        if (*e == ':') metric = e + 1;
        inh_analysis a;
        memset(&a, 0, sizeof a);
        if (!inh__metric_known(metric)) {
            INH_FREE(want);
            return inh__fail("--drop-attn '%s': unknown metric '%s' (attn_importance, block_influence, angular_distance, max_rank, avg_mass, sink)", spec, metric);
        }
        if (!d) { INH_FREE(want); return inh__fail("--drop-attn '%s': auto needs data to rank the layers (--data)", spec); }
        inh_analysis_opts ao;
        if (o) ao = *o;
        else {
            inh_analysis_opts_default(&ao);
            ao.seqs = 32;
            ao.T = m->cfg.maxT < 128 ? m->cfg.maxT : 128;
            if (d->n < (size_t)ao.T + 1) ao.T = (int)d->n - 1;
            if (ao.T < 1) { INH_FREE(want); return inh__fail("%s: too few tokens (%zu) to rank layers for --drop-attn auto", d->path, d->n); }
        }
        unsigned char *saved = INH__ALLOC(unsigned char, L);
        int *order = INH__ALLOC(int, L);
        int rc = saved && order ? 0 : -1;
        if (!rc) {
            memcpy(saved, m->drop_attn, (size_t)L);
            memset(m->drop_attn, 0, (size_t)L);       /* rank the layers of the full model */
            rc = inh_analyze(m, d, &ao, &a);
            memcpy(m->drop_attn, saved, (size_t)L);
        }
        if (!rc) rc = inh_analysis_order(&a, metric, order);
        if (!rc) for (int i = 0; i < k; i++) want[order[i]] = 1;
        inh_analysis_free(&a);
        INH_FREE(saved); INH_FREE(order);
        if (rc) { INH_FREE(want); return -1; }
    } else {
        const char *p = s;
        while (*p) {
            const char *e;
            if (inh__an_parse_uint(p, &e, &k)) { INH_FREE(want); return inh__fail("--drop-attn '%s': expected a list like 9,10,11, last:K or auto:K[:METRIC]", spec); }
            if (k >= L) { INH_FREE(want); return inh__fail("--drop-attn '%s': layer %d does not exist (the model has %d layers, 0..%d)", spec, k, L, L - 1); }
            want[k] = 1;
            p = e;
            if (*p == ',') { p++; if (!*p) { INH_FREE(want); return inh__fail("--drop-attn '%s': trailing comma", spec); } }
            else if (*p) { INH_FREE(want); return inh__fail("--drop-attn '%s': expected a list like 9,10,11, last:K or auto:K[:METRIC]", spec); }
        }
    }
    memcpy(m->drop_attn, want, (size_t)L);
    INH_FREE(want);
    return 0;
}

/* --- drop sweep -------------------------------------------------------------------------------- */

INHDEF void inh_sweep_free(inh_sweep *s) {
    INH_FREE(s->order); INH_FREE(s->loss); INH_FREE(s->tokens_per_s);
    memset(s, 0, sizeof *s);
}

INHDEF int inh_drop_sweep(inh_model *m, inh_data *d, int B, int T, int nbatches, const int *orders, int curves,
                          const char *const *names, inh_sweep *s) {
    int L = m->cfg.L, rc = 0;
    float warm;
    memset(s, 0, sizeof *s);
    if (curves < 1 || curves > 2) return inh__fail("drop sweep: 1 or 2 curves, not %d", curves);
    for (int c = 0; c < curves; c++)
        for (int i = 0; i < L; i++)
            if (orders[c * L + i] < 0 || orders[c * L + i] >= L) return inh__fail("drop sweep: layer %d does not exist", orders[c * L + i]);
    s->L = L; s->curves = curves;
    s->order = INH__ALLOC(int, (size_t)curves * L);
    s->loss = INH__ALLOC(float, (size_t)curves * (L + 1));
    s->tokens_per_s = INH__ALLOC(double, (size_t)curves * (L + 1));
    unsigned char *saved = INH__ALLOC(unsigned char, L);
    if (!s->order || !s->loss || !s->tokens_per_s || !saved) { INH_FREE(saved); inh_sweep_free(s); return -1; }
    memcpy(s->order, orders, (size_t)curves * L * sizeof(int));
    for (int c = 0; c < curves; c++) snprintf(s->names[c], sizeof s->names[c], "%s", names && names[c] ? names[c] : "");
    memcpy(saved, m->drop_attn, (size_t)L);
    memset(m->drop_attn, 0, (size_t)L);
    rc = inh_eval_loss(m, d, B, T, 1, &warm);    /* warm-up: allocations and caches, not timed */
    for (int c = 0; c < curves && !rc; c++)
        for (int k = 0; k <= L && !rc; k++) {
            memset(m->drop_attn, 0, (size_t)L);
            for (int i = 0; i < k; i++) m->drop_attn[orders[c * L + i]] = 1;
            /* speed: the best of up to 5 runs while they take under 0.2 s together (noise on short runs) */
            double best = INFINITY, spent = 0.0;
            for (int rep = 0; !rc && rep < 5 && (rep == 0 || spent < 0.2); rep++) {
                double t0 = inh_now();
                rc = inh_eval_loss(m, d, B, T, nbatches, &s->loss[c * (L + 1) + k]);
                double dt = inh_now() - t0;
                spent += dt;
                if (dt < best) best = dt;
            }
            s->tokens_per_s[c * (L + 1) + k] = best > 0 && isfinite(best) ? (double)B * T * nbatches / best : 0.0;
        }
    memcpy(m->drop_attn, saved, (size_t)L);
    INH_FREE(saved);
    if (rc) { inh_sweep_free(s); return -1; }
    return 0;
}

/* --- reports ----------------------------------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
INH__FN void inh__an_wprintf(inh__wfile *w, const char *fmt, ...) {
    va_list ap;
    if (w->bad) return;
    va_start(ap, fmt);
    if (vfprintf(w->f, fmt, ap) < 0) w->bad = errno ? errno : EIO;
    va_end(ap);
}

/* JSON number, or null for NaN/inf */
INH__FN void inh__an_wnum(inh__wfile *w, double v) {
    if (isfinite(v)) inh__an_wprintf(w, "%.9g", v); else inh__an_wprintf(w, "null");
}
INH__FN void inh__an_wnums(inh__wfile *w, const float *v, int n) {
    inh__an_wprintf(w, "[");
    for (int i = 0; i < n; i++) { if (i) inh__an_wprintf(w, ", "); inh__an_wnum(w, v[i]); }
    inh__an_wprintf(w, "]");
}

INHDEF int inh_analysis_write_json(const inh_analysis *a, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__an_wprintf(&w, "{\"layers\": [\n");
    for (int l = 0; l < a->L; l++) {
        const float *hd = a->rank + (size_t)l * a->NH;
        inh__an_wprintf(&w, "  {\"layer\": %d, \"rank\": ", l); inh__an_wnums(&w, hd, a->NH);
        inh__an_wprintf(&w, ", \"max_rank\": "); inh__an_wnum(&w, a->max_rank[l]);
        inh__an_wprintf(&w, ", \"mass\": "); inh__an_wnums(&w, a->mass + (size_t)l * a->NH, a->NH);
        inh__an_wprintf(&w, ", \"avg_mass\": "); inh__an_wnum(&w, a->avg_mass[l]);
        inh__an_wprintf(&w, ", \"lazy\": %s, \"dropped\": %s", a->lazy[l] ? "true" : "false", a->dropped[l] ? "true" : "false");
        inh__an_wprintf(&w, ", \"sink\": "); inh__an_wnum(&w, a->sink_layer[l]);
        inh__an_wprintf(&w, ", \"sink_heads\": "); inh__an_wnums(&w, a->sink + (size_t)l * a->NH, a->NH);
        inh__an_wprintf(&w, ", \"block_influence\": "); inh__an_wnum(&w, a->block_influence[l]);
        inh__an_wprintf(&w, ", \"angular_distance\": "); inh__an_wnum(&w, a->angular_distance[l]);
        inh__an_wprintf(&w, ", \"attn_importance\": "); inh__an_wnum(&w, a->attn_importance[l]);
        inh__an_wprintf(&w, ", \"entropy\": "); inh__an_wnum(&w, a->entropy_layer[l]);
        inh__an_wprintf(&w, ", \"entropy_heads\": "); inh__an_wnums(&w, a->entropy + (size_t)l * a->NH, a->NH);
        inh__an_wprintf(&w, "}%s\n", l + 1 < a->L ? "," : "");
    }
    inh__an_wprintf(&w, "], \"lazy_groups\": [");
    for (int g = 0; g < a->n_groups; g++) inh__an_wprintf(&w, "%s[%d, %d]", g ? ", " : "", a->groups[2 * g], a->groups[2 * g + 1]);
    inh__an_wprintf(&w, "], \"lazy_from\": %d, \"loss\": ", a->lazy_from);
    inh__an_wnum(&w, a->loss);
    inh__an_wprintf(&w, ",\n \"config\": {\"seqs\": %d, \"seq_len\": %d, \"tau\": %.9g, \"eta\": %.9g, \"span\": %d, \"layers\": %d, \"heads\": %d, \"seconds\": %.3f}}\n",
                 a->seqs, a->T, a->tau, a->eta, a->span, a->L, a->NH, a->seconds);
    return inh__wclose(&w);
}

/* A (w,h) RGB image as a PNG (zlib with stored blocks: no compressor needed), base64 to w. */
INH__FN uint32_t inh__an_crc32(const unsigned char *p, size_t n, uint32_t crc) {
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}
INH__FN void inh__an_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}
INH__FN void inh__an_wbase64(inh__wfile *w, const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out[0] = tab[v >> 18]; out[1] = tab[(v >> 12) & 63];
        out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[3] = i + 2 < n ? tab[v & 63] : '=';
        inh__wwrite(w, out, 4);
    }
}
INH__FN int inh__an_wpng(inh__wfile *w, const unsigned char *rgb, int wd, int ht) {
    size_t raw = (size_t)ht * (1 + 3 * (size_t)wd), nblk = raw / 65535 + 1;
    size_t zlen = 2 + raw + 5 * nblk + 4, total = 8 + 25 + 12 + zlen + 12;
    unsigned char *png = INH__ALLOC(unsigned char, total), *p = png;
    if (!png) return -1;
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    memcpy(p, sig, 8); p += 8;
    inh__an_be32(p, 13); memcpy(p + 4, "IHDR", 4);
    inh__an_be32(p + 8, (uint32_t)wd); inh__an_be32(p + 12, (uint32_t)ht);
    p[16] = 8; p[17] = 2; p[18] = 0; p[19] = 0; p[20] = 0;           /* 8-bit RGB, no interlace */
    inh__an_be32(p + 21, inh__an_crc32(p + 4, 17, 0)); p += 25;
    inh__an_be32(p, (uint32_t)zlen); memcpy(p + 4, "IDAT", 4);
    unsigned char *z = p + 8, *q = z + 2;
    z[0] = 0x78; z[1] = 0x01;
    uint32_t s1 = 1, s2 = 0;                                          /* adler32 of the raw bytes */
    size_t left = raw, row = 0, col = 0;
    do {
        size_t n = left < 65535 ? left : 65535;
        q[0] = (unsigned char)(n == left); q[1] = (unsigned char)n; q[2] = (unsigned char)(n >> 8);
        q[3] = (unsigned char)~n; q[4] = (unsigned char)(~n >> 8); q += 5;
        for (size_t i = 0; i < n; i++) {
            unsigned char b = col == 0 ? 0 : rgb[row * 3 * wd + col - 1];   /* filter byte 0 per row */
            if (++col == 1 + 3 * (size_t)wd) { col = 0; row++; }
            *q++ = b;
            s1 = (s1 + b) % 65521; s2 = (s2 + s1) % 65521;
        }
        left -= n;
    } while (left > 0);
    inh__an_be32(q, s2 << 16 | s1); q += 4;
    zlen = (size_t)(q - z);
    inh__an_be32(p, (uint32_t)zlen);
    inh__an_be32(q, inh__an_crc32(p + 4, 4 + zlen, 0)); q += 4;
    inh__an_be32(q, 0); memcpy(q + 4, "IEND", 4); inh__an_be32(q + 8, inh__an_crc32(q + 4, 4, 0)); q += 12;
    inh__an_wprintf(w, "data:image/png;base64,");
    inh__an_wbase64(w, png, (size_t)(q - png));
    INH_FREE(png);
    return 0;
}

/* one heat map: attention values v in [0,1] shown as sqrt(v), white -> dark blue; masked
   (future) positions light grey */
INH__FN int inh__an_heatmap(inh__wfile *w, const float *A, int T, double x, double y, double size) {
    unsigned char *rgb = INH__ALLOC(unsigned char, (size_t)T * T * 3);
    if (!rgb) return -1;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < T; j++) {
            unsigned char *px = rgb + ((size_t)t * T + j) * 3;
            if (j > t) { px[0] = px[1] = px[2] = 236; continue; }
            double v = A[(size_t)t * T + j];
            v = v <= 0 ? 0 : v >= 1 ? 1 : sqrt(v);
            px[0] = (unsigned char)(255 - v * (255 - 8)); px[1] = (unsigned char)(255 - v * (255 - 48));
            px[2] = (unsigned char)(255 - v * (255 - 107));
        }
    inh__an_wprintf(w, "<image x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"", x, y, size, size);
    int rc = inh__an_wpng(w, rgb, T, T);
    inh__an_wprintf(w, "\"/>\n");
    INH_FREE(rgb);
    return rc;
}

INH__FN double inh__an_nice_max(double v) {
    if (!(v > 0) || !isfinite(v)) return 1.0;
    double e = pow(10.0, floor(log10(v))), f = v / e;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * e;
}

INH__FN void inh__an_wtext(inh__wfile *w, const char *s) {   /* XML-escaped text */
    for (; *s; s++) {
        if (*s == '<') inh__an_wprintf(w, "&lt;");
        else if (*s == '>') inh__an_wprintf(w, "&gt;");
        else if (*s == '&') inh__an_wprintf(w, "&amp;");
        else if (*s == '"') inh__an_wprintf(w, "&quot;");
        else inh__wwrite(w, s, 1);
    }
}

/* per-layer bar chart in the box (x, y, W, H); lazy layers red, dropped grey */
INH__FN void inh__an_bars(inh__wfile *w, double x, double y, double W, double H, const char *title, const float *v,
                       int L, const unsigned char *lazy, const unsigned char *dropped) {
    double mx = 0;
    for (int l = 0; l < L; l++) if (isfinite(v[l]) && v[l] > mx) mx = v[l];
    mx = inh__an_nice_max(mx);
    double px = x + 50, pw = W - 60, py = y + 24, ph = H - 48, bw = pw / L;
    inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">", x + 4, y + 14);
    inh__an_wtext(w, title);
    inh__an_wprintf(w, "</text>\n");
    for (int k = 0; k <= 4; k++) {
        double gy = py + ph - ph * k / 4.0;
        inh__an_wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.3g</text>\n",
                     px, gy, px + pw, gy, px - 4, gy + 3, mx * k / 4.0);
    }
    for (int l = 0; l < L; l++) {
        double val = isfinite(v[l]) ? v[l] : 0, bh = ph * val / mx, bx = px + l * bw + bw * 0.12;
        const char *fill = dropped && dropped[l] ? "#bbbbbb" : lazy && lazy[l] ? "#d62728" : "#4c78a8";
        inh__an_wprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>layer %d: %.4g</title></rect>\n",
                     bx, py + ph - bh, bw * 0.76, bh, fill, l, (double)v[l]);
        if (L <= 32) inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%d</text>\n", bx + bw * 0.38, py + ph + 12, l);
        if (L <= 16 && isfinite(v[l]))
            inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\" fill=\"#333\">%.3g</text>\n", bx + bw * 0.38, py + ph - bh - 3, (double)v[l]);
        if (dropped && dropped[l]) inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\" fill=\"#777\">off</text>\n", bx + bw * 0.38, py + ph - 3);
    }
    inh__an_wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", px, py + ph, px + pw, py + ph);
    inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">layer</text>\n", px + pw / 2, py + ph + 24);
}

INH__FN int inh__analysis_svg(inh__wfile *w, const inh_analysis *a, const int *layers, int nlayers) {
    const double W = 1200, S = 128, gap = 14;
    int per_row = (int)((W - 40) / (S + gap));
    int nheat = a->attention ? nlayers : 0, rows_per_layer = (a->NH + per_row - 1) / per_row;
    double heat_h = nheat ? 30 + nheat * (24 + rows_per_layer * (S + 22)) : 0;
    double H = 90 + 2 * 240 + heat_h + 10;
    inh__an_wprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
                 W, H, W, H);
    inh__an_wprintf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    inh__an_wprintf(w, "<text x=\"20\" y=\"30\" font-size=\"20\" font-weight=\"bold\">Attention analysis: %d layers x %d heads</text>\n", a->L, a->NH);
    inh__an_wprintf(w, "<text x=\"20\" y=\"52\" font-size=\"12\">%d sequences of %d tokens, tau %.3g, eta %.3g; loss %.4f. "
                    "Red: lazy layer (every head rank 1 on every sequence); grey: attention dropped.", a->seqs, a->T, a->tau, a->eta, (double)a->loss);
    if (a->lazy_from < a->L) inh__an_wprintf(w, " Layers %d..%d form a lazy group.", a->lazy_from, a->L - 1);
    inh__an_wprintf(w, "</text>\n");
    inh__an_bars(w, 10, 70, 590, 230, "MaxRank(l): max over heads of mean k*(tau)", a->max_rank, a->L, a->lazy, a->dropped);
    inh__an_bars(w, 600, 70, 590, 230, "AvgMass(l): mean over heads of m*(eta)", a->avg_mass, a->L, a->lazy, a->dropped);
    inh__an_bars(w, 10, 310, 590, 230, "Sink score: attention on key 0", a->sink_layer, a->L, a->lazy, a->dropped);
    inh__an_bars(w, 600, 310, 590, 230, "Block influence: 1 - cos(x_l, x_l+1)", a->block_influence, a->L, a->lazy, a->dropped);
    double y = 90 + 2 * 240;
    if (nheat) {
        inh__an_wprintf(w, "<text x=\"20\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">Attention of sequence 0 (colour = sqrt of the weight; grey = masked)</text>\n", y + 16);
        y += 30;
    }
    for (int i = 0; i < nheat; i++) {
        int l = layers[i];
        if (l < 0 || l >= a->L) continue;
        inh__an_wprintf(w, "<text x=\"20\" y=\"%.1f\" font-size=\"13\">layer %d%s%s</text>\n", y + 14, l,
                     a->lazy[l] ? " (lazy)" : "", a->dropped[l] ? " (attention dropped)" : "");
        y += 24;
        for (int h = 0; h < a->NH; h++) {
            double hx = 20 + (h % per_row) * (S + gap), hy = y + (h / per_row) * (S + 22);
            if (!a->dropped[l] && inh__an_heatmap(w, a->attention + ((size_t)l * a->NH + h) * a->T * a->T, a->T, hx, hy, S)) return -1;
            inh__an_wprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>"
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">h%d: mean k* %.2f, m* %.1f</text>\n",
                         hx, hy, S, S, hx, hy + S + 12, h, (double)a->rank[(size_t)l * a->NH + h], (double)a->mass[(size_t)l * a->NH + h]);
        }
        y += rows_per_layer * (S + 22);
    }
    inh__an_wprintf(w, "</svg>\n");
    return 0;
}

INHDEF int inh_analysis_write_svg(const inh_analysis *a, const int *layers, int nlayers, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    if (inh__analysis_svg(&w, a, layers, nlayers)) { inh__wabort(&w); return -1; }
    return inh__wclose(&w);
}

INH__FN void inh__an_html_head(inh__wfile *w, const char *title) {
    inh__an_wprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n"
                    "<style>body{font-family:sans-serif;margin:20px;color:#222}table{border-collapse:collapse;font-size:12px}"
                    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}tr.lazy td{background:#fde0e0}"
                    "tr.dropped td{color:#888}svg{max-width:100%%;height:auto}</style></head><body>\n", title);
}

INHDEF int inh_analysis_write_html(const inh_analysis *a, const int *layers, int nlayers, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__an_html_head(&w, "inheritune analysis");
    if (inh__analysis_svg(&w, a, layers, nlayers)) { inh__wabort(&w); return -1; }
    inh__an_wprintf(&w, "<table><tr><th>layer</th><th>MaxRank</th><th>AvgMass</th><th>lazy</th><th>sink</th><th>block infl.</th>"
                     "<th>angular dist.</th><th>attn importance</th><th>entropy</th></tr>\n");
    for (int l = 0; l < a->L; l++)
        inh__an_wprintf(&w, "<tr class=\"%s\"><td>%d</td><td>%.3f</td><td>%.2f</td><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>\n",
                     a->dropped[l] ? "dropped" : a->lazy[l] ? "lazy" : "", l, (double)a->max_rank[l], (double)a->avg_mass[l],
                     a->lazy[l] ? "yes" : "", (double)a->sink_layer[l], (double)a->block_influence[l], (double)a->angular_distance[l],
                     (double)a->attn_importance[l], (double)a->entropy_layer[l]);
    inh__an_wprintf(&w, "</table>\n</body></html>\n");
    return inh__wclose(&w);
}

INH__FN void inh__sweep_svg(inh__wfile *w, const inh_sweep *s) {
    const double W = 1000, H = 700;
    static const char *const col[2] = {"#4c78a8", "#d62728"};
    int L = s->L;
    inh__an_wprintf(w, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n", W, H, W, H);
    inh__an_wprintf(w, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    inh__an_wprintf(w, "<text x=\"20\" y=\"30\" font-size=\"20\" font-weight=\"bold\">Dropping attention sub-layers: loss and speed vs k</text>\n");
    for (int c = 0; c < s->curves; c++) {
        inh__an_wprintf(w, "<rect x=\"%d\" y=\"42\" width=\"14\" height=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"50\" font-size=\"12\">", 20 + c * 300, col[c], 40 + c * 300);
        inh__an_wtext(w, s->names[c]);
        inh__an_wprintf(w, "</text>\n");
    }
    for (int panel = 0; panel < 2; panel++) {
        double x0 = 70, y0 = 80 + panel * 310, pw = W - 110, ph = 250, lo = INFINITY, hi = -INFINITY;
        for (int c = 0; c < s->curves; c++)
            for (int k = 0; k <= L; k++) {
                double v = panel == 0 ? s->loss[c * (L + 1) + k] : s->tokens_per_s[c * (L + 1) + k] / s->tokens_per_s[c * (L + 1)];
                if (isfinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
            }
        if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
        double pad = (hi - lo) * 0.08;
        lo -= pad; hi += pad;
        inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", x0 + 40, y0 - 10,
                     panel == 0 ? "validation loss" : "speed-up (tokens/s relative to k = 0)");
        for (int g = 0; g <= 4; g++) {
            double gy = y0 + ph - ph * g / 4.0;
            inh__an_wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.4g</text>\n",
                         x0, gy, x0 + pw, gy, x0 - 4, gy + 3, lo + (hi - lo) * g / 4.0);
        }
        for (int k = 0; k <= L; k++)
            inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%d</text>\n", x0 + pw * k / (L > 0 ? L : 1), y0 + ph + 14, k);
        inh__an_wprintf(w, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">k = attention sub-layers dropped</text>\n", x0 + pw / 2, y0 + ph + 30);
        inh__an_wprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x0, y0 + ph, x0 + pw, y0 + ph);
        for (int c = 0; c < s->curves; c++) {
            inh__an_wprintf(w, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col[c]);
            for (int k = 0; k <= L; k++) {
                double v = panel == 0 ? s->loss[c * (L + 1) + k] : s->tokens_per_s[c * (L + 1) + k] / s->tokens_per_s[c * (L + 1)];
                inh__an_wprintf(w, "%.1f,%.1f ", x0 + pw * k / (L > 0 ? L : 1), y0 + ph - ph * (v - lo) / (hi - lo));
            }
            inh__an_wprintf(w, "\"/>\n");
            for (int k = 0; k <= L; k++) {
                double v = panel == 0 ? s->loss[c * (L + 1) + k] : s->tokens_per_s[c * (L + 1) + k] / s->tokens_per_s[c * (L + 1)];
                inh__an_wprintf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>k=%d: %.5g</title></circle>\n",
                             x0 + pw * k / (L > 0 ? L : 1), y0 + ph - ph * (v - lo) / (hi - lo), col[c], k, v);
            }
        }
    }
    inh__an_wprintf(w, "</svg>\n");
}

INHDEF int inh_sweep_write_svg(const inh_sweep *s, const char *path) {
    inh__wfile w;
    if (inh__wopen(&w, path)) return -1;
    inh__sweep_svg(&w, s);
    return inh__wclose(&w);
}

INHDEF int inh_sweep_write_html(const inh_sweep *s, const char *path) {
    inh__wfile w;
    int L = s->L;
    if (inh__wopen(&w, path)) return -1;
    inh__an_html_head(&w, "inheritune drop sweep");
    inh__sweep_svg(&w, s);
    for (int c = 0; c < s->curves; c++) {
        inh__an_wprintf(&w, "<h3>");
        inh__an_wtext(&w, s->names[c]);
        inh__an_wprintf(&w, "</h3><table><tr><th>k</th><th>dropped layer</th><th>loss</th><th>loss - full</th><th>tokens/s</th><th>speed-up</th></tr>\n");
        for (int k = 0; k <= L; k++) {
            const float *ls = s->loss + c * (L + 1);
            const double *tp = s->tokens_per_s + c * (L + 1);
            inh__an_wprintf(&w, "<tr><td>%d</td><td>", k);
            if (k) inh__an_wprintf(&w, "%d", s->order[c * L + k - 1]);
            inh__an_wprintf(&w, "</td><td>%.5f</td><td>%+.5f</td><td>%.0f</td><td>%.3f</td></tr>\n", (double)ls[k], (double)(ls[k] - ls[0]), tp[k], tp[k] / tp[0]);
        }
        inh__an_wprintf(&w, "</table>\n");
    }
    inh__an_wprintf(&w, "</body></html>\n");
    return inh__wclose(&w);
}

#endif /* INH__ANALYSIS_IMPL */
