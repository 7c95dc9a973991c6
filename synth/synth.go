// Package synth generates a realistic synthetic shop: customers who buy at
// their own rate and drop out at their own time (the BG/NBD story), spend
// around their own mean, in several countries, currencies and channels, with
// a few bad rows and a few orders after the end date, refunds (orders with
// status refunded, and partial refunds as negative amounts carrying the
// order's id), as Parquet files.
package synth

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/rs/zerolog"
	"github.com/zeebo/xxh3"
	"gonum.org/v1/gonum/stat/distuv"

	"retain/internal/progress"
)

// clock is the progress meters' clock; nil is the wall clock. Tests set it
// to make lines due.
var clock progress.Clock

// Options configure a generated shop.
type Options struct {
	Dir       string
	Customers int
	// EndDate is the last day of history; a few orders fall up to three days
	// later so a run on EndDate has rows to exclude.
	EndDate time.Time
	Seed    uint64
	// HistoryYears is how far back acquisition goes; default 3.
	HistoryYears int
	// FileRows caps rows per Parquet file; default 2,000,000.
	FileRows int
	// UUIDCustomerIDs gives customers 36-character UUIDs, as many shops
	// use, instead of C00000001: about three times the bytes per id, so a
	// shop of 30,000 customers already has over 1 MiB of distinct ids.
	UUIDCustomerIDs bool
	// Log gets a line every few seconds on how far generating customers,
	// then writing their orders, has come; the zero Logger gets none.
	Log zerolog.Logger
}

// Result says what was written.
type Result struct {
	Dir        string `json:"dir"`
	Customers  int    `json:"customers"`
	Orders     int64  `json:"orders"`
	OrderItems int64  `json:"order_items"`
	BadRows    int64  `json:"bad_rows"`
	RefundRows int64  `json:"refund_rows"`
	LateRows   int64  `json:"rows_after_end_date"`
}

type market struct {
	country, currency string
	weight, fx        float64
}

var markets = []market{
	{"US", "USD", 0.40, 1}, {"DE", "EUR", 0.15, 0.92}, {"FR", "EUR", 0.10, 0.92},
	{"GB", "GBP", 0.15, 0.79}, {"JP", "JPY", 0.10, 150}, {"CA", "CAD", 0.10, 1.36},
}

var channels = []struct {
	name   string
	weight float64
}{{"web", 0.55}, {"app", 0.30}, {"store", 0.10}, {"marketplace", 0.05}}

// order is one generated order before it is written; the generator holds
// them only to write them roughly in time order, as warehouse exports are.
type order struct {
	ts       int64
	customer int32
	market   uint8
	channel  uint8
	status   uint8
	bad      uint8
	refund   bool // a partial refund of order id: amount is what it gives back
	amount   float64
	id       int64
}

const (
	badNone = iota
	badNoCustomer
	badNoOrderID
	badNegative
	badNaN
	badNoTS
	badDuplicate
)

var statuses = []string{"completed", "cancelled", "refunded"}

// refundShare is the share of completed orders with a partial refund.
const refundShare = 0.02

// Generate writes <Dir>/orders/part-*.parquet and <Dir>/order_items/part-*.parquet.
func Generate(o Options) (*Result, error) {
	if o.HistoryYears == 0 {
		o.HistoryYears = 3
	}
	if o.FileRows == 0 {
		o.FileRows = 2_000_000
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	end := time.Date(o.EndDate.Year(), o.EndDate.Month(), o.EndDate.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	start := end.AddDate(-o.HistoryYears, 0, 0)
	endUS, startUS := end.UnixMicro(), start.UnixMicro()
	lateUS := end.AddDate(0, 0, 3).UnixMicro()
	const dayUS = 86400e6

	rate := distuv.Gamma{Alpha: 1.2, Beta: 12, Src: rng}     // purchases per day, mean 0.1
	dropout := distuv.Beta{Alpha: 1.5, Beta: 10.5, Src: rng} // churn chance after each purchase
	spend := distuv.LogNormal{Mu: math.Log(45), Sigma: 0.6, Src: rng}
	res := &Result{Dir: o.Dir, Customers: o.Customers}

	var orders []order
	var nextID int64 = 1
	meter := progress.Start(o.Log, progress.Options{Msg: "generating customers", Unit: "customers", Total: int64(o.Customers), Clock: clock})
	for c := 0; c < o.Customers; c++ {
		m := pick(rng, len(markets), func(i int) float64 { return markets[i].weight })
		ch := pick(rng, len(channels), func(i int) float64 { return channels[i].weight })
		lambda, p, mean := rate.Rand(), dropout.Rand(), spend.Rand()
		t := startUS + rng.Int64N(endUS-startUS)
		for {
			amount := math.Round(distuv.Gamma{Alpha: 6, Beta: 6 / mean, Src: rng}.Rand()*markets[m].fx*100) / 100
			st := uint8(0)
			if r := rng.Float64(); r > 0.97 {
				st = 2
			} else if r > 0.93 {
				st = 1
			}
			chn := uint8(ch)
			if rng.Float64() < 0.2 {
				chn = uint8(rng.IntN(len(channels)))
			}
			orders = append(orders, order{ts: t, customer: int32(c), market: uint8(m), channel: chn, status: st, amount: amount, id: nextID})
			nextID++
			if rng.Float64() < p {
				break
			}
			t += int64(rng.ExpFloat64() / lambda * dayUS)
			if t >= lateUS {
				break
			}
		}
		meter.Tick(int64(c + 1))
	}
	meter.Stop()
	// A few bad rows of every kind, so a run shows its quarantine.
	nBad := max(len(orders)/2000, 6)
	for k := 0; k < nBad; k++ {
		i := rng.IntN(len(orders))
		if orders[i].bad != badNone {
			continue
		}
		kind := uint8(1 + k%6)
		if kind == badDuplicate {
			dup := orders[i]
			dup.ts += int64(rng.IntN(3600)) * 1e6
			dup.bad = badDuplicate
			orders = append(orders, dup)
		} else {
			orders[i].bad = kind
		}
		res.BadRows++
	}
	// Partial refunds of some completed orders, a few days to weeks later,
	// from a generator of their own so the rest of the shop is the same as
	// before refunds were generated.
	rrng := rand.New(rand.NewPCG(o.Seed^0x5bd1e995, o.Seed+0x27d4eb2f))
	for i, n := 0, len(orders); i < n; i++ {
		od := orders[i]
		if od.bad != badNone || od.status != 0 || od.amount <= 0 || rrng.Float64() >= refundShare {
			continue
		}
		r := od
		r.refund = true
		r.ts += int64((0.5 + rrng.ExpFloat64()*10) * dayUS)
		r.amount = math.Max(0.01, math.Round(od.amount*(0.1+0.5*rrng.Float64())*100)/100)
		orders = append(orders, r)
		res.RefundRows++
	}
	// Month buckets approximate the time order of a warehouse export while
	// keeping some out-of-order rows inside each month.
	sort.SliceStable(orders, func(a, b int) bool {
		return monthOf(orders[a].ts) < monthOf(orders[b].ts)
	})
	for _, od := range orders {
		if od.ts >= endUS {
			res.LateRows++
		}
	}
	res.Orders = int64(len(orders))
	items, err := write(o, orders, rng)
	res.OrderItems = items
	if err != nil {
		return res, err
	}
	return res, writeRates(filepath.Join(o.Dir, "fx_rates.csv"), start, end.AddDate(0, 0, 7), rng)
}

// ReportingCurrency is the currency the generated fx_rates.csv converts to.
const ReportingCurrency = "USD"

// writeRates writes weekly rates to USD for every other currency of the
// shop, from before the first order to after the last: a small random walk
// around each market's rate, so conversions differ by date as real ones do.
func writeRates(path string, from, to time.Time, rng *rand.Rand) error {
	var b strings.Builder
	b.WriteString("date,currency,rate_to_reporting\n")
	level := map[string]float64{}
	var codes []string
	for _, m := range markets {
		if _, ok := level[m.currency]; !ok && m.currency != ReportingCurrency {
			level[m.currency] = 1 / m.fx
			codes = append(codes, m.currency)
		}
	}
	for d := from.AddDate(0, 0, -7); d.Before(to); d = d.AddDate(0, 0, 7) {
		for _, c := range codes {
			level[c] *= math.Exp(rng.NormFloat64() * 0.01)
			fmt.Fprintf(&b, "%s,%s,%.8g\n", d.Format(time.DateOnly), c, level[c])
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func monthOf(us int64) int64 { return us / (31 * 86400e6) }

func pick(rng *rand.Rand, n int, w func(int) float64) int {
	r := rng.Float64()
	for i := 0; i < n; i++ {
		r -= w(i)
		if r < 0 {
			return i
		}
	}
	return n - 1
}

// OrdersSchema is the generated orders file: the canonical names with a
// shop's natural types.
var OrdersSchema = arrow.NewSchema([]arrow.Field{
	{Name: "order_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "order_ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "currency", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "country", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "channel", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// ItemsSchema is the generated order_items file.
var ItemsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "order_id", Type: arrow.BinaryTypes.String},
	{Name: "sku", Type: arrow.BinaryTypes.String},
	{Name: "quantity", Type: arrow.PrimitiveTypes.Int64},
	{Name: "unit_price", Type: arrow.PrimitiveTypes.Float64},
	{Name: "unit_cost", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// partWriter rolls Parquet files of at most max rows.
type partWriter struct {
	dir    string
	schema *arrow.Schema
	max    int
	part   int
	rows   int
	f      *os.File
	fw     *pqarrow.FileWriter
}

func (p *partWriter) write(rec arrow.Record) error {
	if p.fw != nil && p.rows >= p.max {
		if err := p.close(); err != nil {
			return err
		}
	}
	if p.fw == nil {
		if err := os.MkdirAll(p.dir, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(p.dir, fmt.Sprintf("part-%05d.parquet", p.part)))
		if err != nil {
			return err
		}
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(512*1024))
		fw, err := pqarrow.NewFileWriter(p.schema, f, props, pqarrow.DefaultWriterProps())
		if err != nil {
			f.Close()
			return err
		}
		p.f, p.fw, p.rows = f, fw, 0
		p.part++
	}
	p.rows += int(rec.NumRows())
	return p.fw.WriteBuffered(rec)
}

func (p *partWriter) close() error {
	if p.fw == nil {
		return nil
	}
	err := p.fw.Close() // closes the file too
	p.fw, p.f = nil, nil
	return err
}

func write(o Options, orders []order, rng *rand.Rand) (int64, error) {
	mem := memory.DefaultAllocator
	ow := &partWriter{dir: filepath.Join(o.Dir, "orders"), schema: OrdersSchema, max: o.FileRows}
	iw := &partWriter{dir: filepath.Join(o.Dir, "order_items"), schema: ItemsSchema, max: o.FileRows}
	ob := array.NewRecordBuilder(mem, OrdersSchema)
	defer ob.Release()
	ib := array.NewRecordBuilder(mem, ItemsSchema)
	defer ib.Release()
	var items int64
	// Most of the time goes here, formatting ids and compressing pages.
	meter := progress.Start(o.Log, progress.Options{Msg: "writing orders", Unit: "orders", Total: int64(len(orders)), Clock: clock})
	defer meter.Stop()
	flush := func(b *array.RecordBuilder, w *partWriter) error {
		rec := b.NewRecord()
		defer rec.Release()
		return w.write(rec)
	}
	for i, od := range orders {
		oid := fmt.Sprintf("O%010d", od.id)
		cid := customerID(o, od.customer)
		str := func(k int, s string) { ob.Field(k).(*array.StringBuilder).Append(s) }
		switch od.bad {
		case badNoOrderID:
			str(0, "")
		default:
			str(0, oid)
		}
		if od.bad == badNoCustomer {
			ob.Field(1).AppendNull()
		} else {
			str(1, cid)
		}
		if od.bad == badNoTS {
			ob.Field(2).AppendNull()
		} else {
			ob.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(od.ts))
		}
		amt := od.amount
		switch od.bad {
		case badNegative:
			amt = -amt
		case badNaN:
			amt = math.NaN()
		}
		if od.refund {
			amt = -amt
		}
		ob.Field(3).(*array.Float64Builder).Append(amt)
		mk := markets[od.market]
		str(4, mk.currency)
		str(5, mk.country)
		str(6, channels[od.channel].name)
		str(7, statuses[od.status])

		// A duplicated order row is an orders-table fault; its items exist
		// once. A refund has none, and draws nothing, so the items of the
		// other orders are those of a shop without refunds.
		n := 0
		if !od.refund {
			n = 1 + rng.IntN(3)
		}
		if od.bad == badDuplicate {
			n = 0
		}
		for k := 0; k < n; k++ {
			ib.Field(0).(*array.StringBuilder).Append(oid)
			sku := zipf(rng, 5000)
			ib.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("SKU%05d", sku))
			q := int64(1 + rng.IntN(2))
			ib.Field(2).(*array.Int64Builder).Append(q)
			price := math.Round(od.amount/float64(n)/float64(q)*100) / 100
			ib.Field(3).(*array.Float64Builder).Append(price)
			ib.Field(4).(*array.Float64Builder).Append(math.Round(price*costShare(sku)*100) / 100)
			items++
		}
		meter.Tick(int64(i + 1))
		if (i+1)%65536 == 0 {
			if err := flush(ob, ow); err != nil {
				return items, err
			}
			if err := flush(ib, iw); err != nil {
				return items, err
			}
		}
	}
	if err := flush(ob, ow); err != nil {
		return items, err
	}
	if err := flush(ib, iw); err != nil {
		return items, err
	}
	if err := ow.close(); err != nil {
		return items, err
	}
	return items, iw.close()
}

// costShare is the part of a product's price the shop paid for it, 35% to
// 75% by SKU: fixed per product rather than drawn, so the orders and the
// other item columns are those of a shop without costs.
func costShare(sku int) float64 {
	return 0.35 + 0.4*float64(uint32(sku)*2654435761%1000)/1000
}

// customerID names customer c. UUIDs are hashed from the seed and c rather
// than drawn from the generator, so the rest of the shop is the same with
// either kind of id.
func customerID(o Options, c int32) string {
	if !o.UUIDCustomerIDs {
		return fmt.Sprintf("C%08d", c)
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(c))
	h := xxh3.Hash128Seed(b[:], o.Seed)
	// Version 4 and variant bits, as a random UUID has them.
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", h.Hi>>32, h.Hi>>16&0xffff, h.Hi&0xfff,
		h.Lo>>48&0x3fff|0x8000, h.Lo&0xffffffffffff)
}

// zipf draws a product rank with a long tail: few products sell most.
func zipf(rng *rand.Rand, n int) int {
	return int(math.Floor(math.Pow(float64(n), rng.Float64()))) - 1
}
