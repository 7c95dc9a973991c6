package btyd

// Histories are a set of customers compressed once for every fit and
// prediction on them: the compression of a million customers costs about
// what a BG/NBD fit does, and a caller that fits several models, measures
// their uncertainty and predicts for the same customers needs it once.
// Its methods give the same bits as the functions of the same names on the
// customers themselves.
type Histories struct {
	c, u Customers
	rows []int32 // customer → its row in u
}

// NewHistories compresses c.
func NewHistories(c Customers) *Histories {
	u, rows := compress(c)
	return &Histories{c: c, u: u, rows: rows}
}

// Customers are the customers as given, one row each.
func (h *Histories) Customers() Customers { return h.c }

// Distinct is Compress(Customers()), what the fits and PurchaseUncertainty
// take.
func (h *Histories) Distinct() Customers { return h.u }

// Predict is Predict on h's customers.
func (h *Histories) Predict(pm PurchaseModel, gg GammaGamma, monetary []float64, o PredictOptions) Predictions {
	return predictCompressed(pm, gg, h.c, monetary, o, true, h.u, h.rows)
}

// PredictValue is PredictValue on h's customers.
func (h *Histories) PredictValue(pm PurchaseModel, gg GammaGamma, monetary []float64, o PredictOptions) Predictions {
	return predictCompressed(pm, gg, h.c, monetary, o, false, h.u, h.rows)
}

// Expected is Expected on h's customers.
func (h *Histories) Expected(pm PurchaseModel, horizon float64) []float64 {
	return expectedCompressed(pm, h.c, horizon, h.u, h.rows)
}

// PredictWithIntervals is PredictWithIntervals on h's customers.
func (h *Histories) PredictWithIntervals(pm Estimable, pu Uncertainty, gg GammaGamma, gu Uncertainty, monetary []float64, o PredictOptions, opts IntervalOptions) (Predictions, PredictionIntervals, error) {
	return predictWithIntervals(pm, pu, gg, gu, h.c, monetary, o, opts, h.u, h.rows)
}
