// Package parquetlibs compares two Go Parquet writers on the table retain
// writes per customer: Arrow's own parquet/pqarrow, which retain uses, and
// github.com/xitongsys/parquet-go. It is a module of its own so that
// xitongsys's dependencies (an old Arrow and an old Thrift) never enter
// retain's go.mod.
//
// The data is generated once as Arrow columns, because that is where retain
// holds it. pqarrow writes those columns as they are; xitongsys only accepts
// Go values row by row, so its timed write includes turning each Arrow batch
// into a []Row, the conversion retain would have to pay.
package parquetlibs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

// RunDate is the snapshot_date of every generated row.
var RunDate = time.Date(2026, time.November, 22, 0, 0, 0, 0, time.UTC)

// Column positions in Schema, shared by the generator, the row conversion
// and the tests so that a reordered column fails loudly instead of silently
// comparing the wrong data.
const (
	colSnapshotDate = iota
	colCustomerID
	colFirstOrderAt
	colLastOrderAt
	colOrderCount
	colTotalRevenue
	colAvgOrderValue
	colFrequency
	colRecencyDays
	colTenureDays
	colRepeatAvgValue
	numColumns
)

var utcMicros = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// Schema is customer_summary as both writers store it: DATE, UTF8,
// TIMESTAMP(MICROS, UTC), INT64 and DOUBLE, all required except
// repeat_avg_value.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "snapshot_date", Type: arrow.FixedWidthTypes.Date32},
	{Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "first_order_at", Type: utcMicros},
	{Name: "last_order_at", Type: utcMicros},
	{Name: "order_count", Type: arrow.PrimitiveTypes.Int64},
	{Name: "total_revenue", Type: arrow.PrimitiveTypes.Float64},
	{Name: "avg_order_value", Type: arrow.PrimitiveTypes.Float64},
	{Name: "frequency", Type: arrow.PrimitiveTypes.Int64},
	{Name: "recency_days", Type: arrow.PrimitiveTypes.Int64},
	{Name: "tenure_days", Type: arrow.PrimitiveTypes.Int64},
	{Name: "repeat_avg_value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
}, nil)

// Generate returns n customers as one Arrow record, the same for the same
// seed. The shape follows what the job computes from real order histories:
// about 40% one-time buyers (frequency 0, so repeat_avg_value is null),
// recency within tenure, log-normal order values in cents, sorted ids.
func Generate(n int, seed uint64) arrow.Record {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	b := array.NewRecordBuilder(memory.DefaultAllocator, Schema)
	defer b.Release()
	b.Reserve(n)

	snapshot := b.Field(colSnapshotDate).(*array.Date32Builder)
	id := b.Field(colCustomerID).(*array.StringBuilder)
	first := b.Field(colFirstOrderAt).(*array.TimestampBuilder)
	last := b.Field(colLastOrderAt).(*array.TimestampBuilder)
	orders := b.Field(colOrderCount).(*array.Int64Builder)
	revenue := b.Field(colTotalRevenue).(*array.Float64Builder)
	aov := b.Field(colAvgOrderValue).(*array.Float64Builder)
	freq := b.Field(colFrequency).(*array.Int64Builder)
	recency := b.Field(colRecencyDays).(*array.Int64Builder)
	tenure := b.Field(colTenureDays).(*array.Int64Builder)
	repeat := b.Field(colRepeatAvgValue).(*array.Float64Builder)
	id.ReserveData(n * len("C00000000"))

	const dayUS = int64(24 * time.Hour / time.Microsecond)
	runDay := RunDate.Unix() / 86400
	// An order's value in cents, so sums are what a ledger would hold.
	orderValue := func() float64 {
		return math.Round(math.Exp(3.8+0.7*rng.NormFloat64())*100) / 100
	}
	for i := range n {
		t := int64(rng.IntN(3 * 365))
		var x, r int64
		if t > 0 && rng.Float64() < 0.6 {
			// Repeat days are roughly geometric: most customers come back a
			// few times, a long tail many times.
			x = min(1+int64(rng.ExpFloat64()*3), t)
			r = x + rng.Int64N(t-x+1)
		}
		firstDayOrders := int64(1)
		if rng.Float64() < 0.05 {
			firstDayOrders = 2
		}
		count := firstDayOrders
		firstDay := 0.0
		for range firstDayOrders {
			firstDay += orderValue()
		}
		repeatSum := 0.0
		for range x {
			count++
			repeatSum += orderValue()
		}
		total := math.Round((firstDay+repeatSum)*100) / 100

		firstAt := (runDay-t)*dayUS + rng.Int64N(dayUS)
		lastAt := firstAt
		if x > 0 {
			lastAt = (runDay-t+r)*dayUS + rng.Int64N(dayUS)
		}

		snapshot.Append(arrow.Date32(runDay))
		id.Append(fmt.Sprintf("C%08d", i))
		first.Append(arrow.Timestamp(firstAt))
		last.Append(arrow.Timestamp(lastAt))
		orders.Append(count)
		revenue.Append(total)
		aov.Append(total / float64(count))
		freq.Append(x)
		recency.Append(r)
		tenure.Append(t)
		if x > 0 {
			repeat.Append(repeatSum / float64(x))
		} else {
			repeat.AppendNull()
		}
	}
	return b.NewRecord()
}

// Row is one customer_summary row as xitongsys/parquet-go needs it: a Go
// struct whose tags give the Parquet schema. Each tag sets the same
// physical, logical and converted type that pqarrow derives from Schema, so
// readers see the two files as the same table.
type Row struct {
	SnapshotDate   int32    `parquet:"name=snapshot_date, type=INT32, convertedtype=DATE, logicaltype=DATE"`
	CustomerID     string   `parquet:"name=customer_id, type=BYTE_ARRAY, convertedtype=UTF8, logicaltype=STRING"`
	FirstOrderAt   int64    `parquet:"name=first_order_at, type=INT64, convertedtype=TIMESTAMP_MICROS, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS"`
	LastOrderAt    int64    `parquet:"name=last_order_at, type=INT64, convertedtype=TIMESTAMP_MICROS, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS"`
	OrderCount     int64    `parquet:"name=order_count, type=INT64, convertedtype=INT_64, logicaltype=INTEGER, logicaltype.bitwidth=64, logicaltype.issigned=true"`
	TotalRevenue   float64  `parquet:"name=total_revenue, type=DOUBLE"`
	AvgOrderValue  float64  `parquet:"name=avg_order_value, type=DOUBLE"`
	Frequency      int64    `parquet:"name=frequency, type=INT64, convertedtype=INT_64, logicaltype=INTEGER, logicaltype.bitwidth=64, logicaltype.issigned=true"`
	RecencyDays    int64    `parquet:"name=recency_days, type=INT64, convertedtype=INT_64, logicaltype=INTEGER, logicaltype.bitwidth=64, logicaltype.issigned=true"`
	TenureDays     int64    `parquet:"name=tenure_days, type=INT64, convertedtype=INT_64, logicaltype=INTEGER, logicaltype.bitwidth=64, logicaltype.issigned=true"`
	RepeatAvgValue *float64 `parquet:"name=repeat_avg_value, type=DOUBLE, repetitiontype=OPTIONAL"`
}

// AppendRows appends rec's rows to dst. The repeat_avg_value pointers
// point into one backing slice per call rather than one allocation per row,
// which is the cheapest conversion a careful caller could write.
func AppendRows(dst []Row, rec arrow.Record) []Row {
	date := rec.Column(colSnapshotDate).(*array.Date32)
	id := rec.Column(colCustomerID).(*array.String)
	first := rec.Column(colFirstOrderAt).(*array.Timestamp)
	last := rec.Column(colLastOrderAt).(*array.Timestamp)
	orders := rec.Column(colOrderCount).(*array.Int64)
	revenue := rec.Column(colTotalRevenue).(*array.Float64)
	aov := rec.Column(colAvgOrderValue).(*array.Float64)
	freq := rec.Column(colFrequency).(*array.Int64)
	recency := rec.Column(colRecencyDays).(*array.Int64)
	tenure := rec.Column(colTenureDays).(*array.Int64)
	repeat := rec.Column(colRepeatAvgValue).(*array.Float64)

	n := int(rec.NumRows())
	repeatVals := make([]float64, n-repeat.NullN())
	for i := range n {
		row := Row{
			SnapshotDate:  int32(date.Value(i)),
			CustomerID:    id.Value(i),
			FirstOrderAt:  int64(first.Value(i)),
			LastOrderAt:   int64(last.Value(i)),
			OrderCount:    orders.Value(i),
			TotalRevenue:  revenue.Value(i),
			AvgOrderValue: aov.Value(i),
			Frequency:     freq.Value(i),
			RecencyDays:   recency.Value(i),
			TenureDays:    tenure.Value(i),
		}
		if repeat.IsValid(i) {
			repeatVals[0] = repeat.Value(i)
			row.RepeatAvgValue = &repeatVals[0]
			repeatVals = repeatVals[1:]
		}
		dst = append(dst, row)
	}
	return dst
}
