package parquetlibs

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/xitongsys/parquet-go-source/local"
	xparquet "github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/writer"

	"retain/schemas"
	"retain/stages/load"
)

// makeRecord builds a realistic customer_summary: about 40% one-time
// buyers (null repeat_avg_value), 4% of customers with refunds, a few
// countries and channels. Columns are found by name, so the record follows
// the schema; a column this does not know fails the benchmark instead of
// being filled by guess.
func makeRecord(n int) (arrow.Record, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	t := schemas.CustomerSummary
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.Schema())
	defer b.Release()
	if len(t.Columns) != len(summaryColumns) {
		return nil, fmt.Errorf("customer_summary has %d columns, the generator %d", len(t.Columns), len(summaryColumns))
	}
	for _, c := range t.Columns {
		if _, ok := summaryColumns[c.Name]; !ok {
			return nil, fmt.Errorf("customer_summary column %s has no generator here", c.Name)
		}
	}
	field := func(name string) array.Builder { return b.Field(t.MustIndex(name)) }
	countries := []string{"US", "DE", "FR", "GB", "JP", "CA"}
	channels := []string{"web", "app", "store", "marketplace"}
	snapshot := arrow.Date32(20779) // 2026-11-22
	runUS := int64(20780) * 86400e6
	for i := 0; i < n; i++ {
		orders := int64(1 + rng.IntN(20))
		freq := int64(0)
		if rng.Float64() > 0.4 {
			freq = min(1+rng.Int64N(orders), max(orders-1, 0))
		}
		tenure := rng.Int64N(1000)
		recency := rng.Int64N(tenure + 1)
		revenue := float64(orders) * (5 + rng.Float64()*100)
		var refunded float64
		var refundedOrders int64
		if rng.Float64() < 0.04 {
			refunded, refundedOrders = revenue/float64(orders), 1
		}
		first := runUS - tenure*86400e6 - rng.Int64N(86400e6)
		field("snapshot_date").(*array.Date32Builder).Append(snapshot)
		field("customer_id").(*array.StringBuilder).Append(fmt.Sprintf("C%08d", i))
		field("first_order_at").(*array.TimestampBuilder).Append(arrow.Timestamp(first))
		field("last_order_at").(*array.TimestampBuilder).Append(arrow.Timestamp(first + recency*86400e6))
		field("order_count").(*array.Int64Builder).Append(orders)
		field("total_revenue").(*array.Float64Builder).Append(revenue)
		field("avg_order_value").(*array.Float64Builder).Append(revenue / float64(orders))
		field("refunded_revenue").(*array.Float64Builder).Append(refunded)
		field("net_revenue").(*array.Float64Builder).Append(revenue - refunded)
		field("refund_rate").(*array.Float64Builder).Append(refunded / revenue)
		field("refunded_orders").(*array.Int64Builder).Append(refundedOrders)
		field("frequency").(*array.Int64Builder).Append(freq)
		field("recency_days").(*array.Int64Builder).Append(recency)
		field("tenure_days").(*array.Int64Builder).Append(tenure)
		if freq > 0 {
			field("repeat_avg_value").(*array.Float64Builder).Append(revenue / float64(orders))
		} else {
			field("repeat_avg_value").AppendNull()
		}
		field("country").(*array.StringBuilder).Append(countries[rng.IntN(len(countries))])
		field("channel").(*array.StringBuilder).Append(channels[rng.IntN(len(channels))])
	}
	return b.NewRecord(), nil
}

// summaryColumns are the customer_summary columns makeRecord fills.
var summaryColumns = map[string]struct{}{
	"snapshot_date": {}, "customer_id": {}, "first_order_at": {}, "last_order_at": {}, "order_count": {},
	"total_revenue": {}, "avg_order_value": {}, "refunded_revenue": {}, "net_revenue": {}, "refund_rate": {},
	"refunded_orders": {}, "frequency": {}, "recency_days": {}, "tenure_days": {}, "repeat_avg_value": {},
	"country": {}, "channel": {},
}

// writePqarrow is retain's own write path: the load stage's properties
// and its tuned zstd codec and buffer pool.
func writePqarrow(rec arrow.Record, path string) error {
	load.TuneArrow()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	fw, err := pqarrow.NewFileWriter(rec.Schema(), buf, load.WriterProperties(1<<20),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return err
	}
	// The load stage receives 64k-row batches; write the same way.
	for off := int64(0); off < rec.NumRows(); off += 64 * 1024 {
		batch := rec.NewSlice(off, min(off+64*1024, rec.NumRows()))
		err := fw.WriteBuffered(batch)
		batch.Release()
		if err != nil {
			f.Close()
			return err
		}
	}
	if err := fw.Close(); err != nil {
		return err
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// summaryRow is customer_summary as xitongsys needs it: one Go struct per
// row, described by tags.
type summaryRow struct {
	SnapshotDate    int32    `parquet:"name=snapshot_date, type=INT32, convertedtype=DATE"`
	CustomerID      string   `parquet:"name=customer_id, type=BYTE_ARRAY, convertedtype=UTF8"`
	FirstOrderAt    int64    `parquet:"name=first_order_at, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS"`
	LastOrderAt     int64    `parquet:"name=last_order_at, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS"`
	OrderCount      int64    `parquet:"name=order_count, type=INT64, convertedtype=INT_64"`
	TotalRevenue    float64  `parquet:"name=total_revenue, type=DOUBLE"`
	AvgOrderValue   float64  `parquet:"name=avg_order_value, type=DOUBLE"`
	RefundedRevenue float64  `parquet:"name=refunded_revenue, type=DOUBLE"`
	NetRevenue      float64  `parquet:"name=net_revenue, type=DOUBLE"`
	RefundRate      *float64 `parquet:"name=refund_rate, type=DOUBLE, repetitiontype=OPTIONAL"`
	RefundedOrders  int64    `parquet:"name=refunded_orders, type=INT64, convertedtype=INT_64"`
	Frequency       int64    `parquet:"name=frequency, type=INT64, convertedtype=INT_64"`
	RecencyDays     int64    `parquet:"name=recency_days, type=INT64, convertedtype=INT_64"`
	TenureDays      int64    `parquet:"name=tenure_days, type=INT64, convertedtype=INT_64"`
	RepeatAvgValue  *float64 `parquet:"name=repeat_avg_value, type=DOUBLE, repetitiontype=OPTIONAL"`
	Country         *string  `parquet:"name=country, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=OPTIONAL"`
	Channel         *string  `parquet:"name=channel, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=OPTIONAL"`
}

// writeXitongsys converts each Arrow row to a struct, as retain would have
// to, and writes with the library's defaults but zstd and a row group large
// enough to hold the table, like the pqarrow side.
func writeXitongsys(rec arrow.Record, path string) error {
	fw, err := local.NewLocalFileWriter(path)
	if err != nil {
		return err
	}
	pw, err := writer.NewParquetWriter(fw, new(summaryRow), 2)
	if err != nil {
		fw.Close()
		return err
	}
	pw.CompressionType = xparquet.CompressionCodec_ZSTD
	pw.RowGroupSize = 512 << 20
	t := schemas.CustomerSummary
	col := func(name string) arrow.Array { return rec.Column(t.MustIndex(name)) }
	date := col("snapshot_date").(*array.Date32)
	id := col("customer_id").(*array.String)
	first, last := col("first_order_at").(*array.Timestamp), col("last_order_at").(*array.Timestamp)
	orders, revenue, aov := col("order_count").(*array.Int64), col("total_revenue").(*array.Float64), col("avg_order_value").(*array.Float64)
	refunded, net, rate := col("refunded_revenue").(*array.Float64), col("net_revenue").(*array.Float64), col("refund_rate").(*array.Float64)
	refundedOrders := col("refunded_orders").(*array.Int64)
	freq, recency, tenure := col("frequency").(*array.Int64), col("recency_days").(*array.Int64), col("tenure_days").(*array.Int64)
	repeat := col("repeat_avg_value").(*array.Float64)
	country, channel := col("country").(*array.String), col("channel").(*array.String)
	optFloat := func(a *array.Float64, i int) *float64 {
		if a.IsNull(i) {
			return nil
		}
		v := a.Value(i)
		return &v
	}
	optString := func(a *array.String, i int) *string {
		if a.IsNull(i) {
			return nil
		}
		v := a.Value(i)
		return &v
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		r := summaryRow{
			SnapshotDate: int32(date.Value(i)), CustomerID: id.Value(i),
			FirstOrderAt: int64(first.Value(i)), LastOrderAt: int64(last.Value(i)),
			OrderCount: orders.Value(i), TotalRevenue: revenue.Value(i), AvgOrderValue: aov.Value(i),
			RefundedRevenue: refunded.Value(i), NetRevenue: net.Value(i), RefundRate: optFloat(rate, i),
			RefundedOrders: refundedOrders.Value(i),
			Frequency:      freq.Value(i), RecencyDays: recency.Value(i), TenureDays: tenure.Value(i),
			RepeatAvgValue: optFloat(repeat, i),
			Country:        optString(country, i), Channel: optString(channel, i),
		}
		if err := pw.Write(r); err != nil {
			fw.Close()
			return err
		}
	}
	if err := pw.WriteStop(); err != nil {
		fw.Close()
		return err
	}
	return fw.Close()
}
