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
// buyers (null repeat_avg_value), a few countries and channels.
func makeRecord(n int) arrow.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	b := array.NewRecordBuilder(memory.DefaultAllocator, schemas.CustomerSummary.Schema())
	defer b.Release()
	countries := []string{"US", "DE", "FR", "GB", "JP", "CA"}
	channels := []string{"web", "app", "store", "marketplace"}
	snapshot := arrow.Date32(20779) // 2026-11-22
	runUS := int64(20780) * 86400e6
	for i := 0; i < n; i++ {
		orders := int64(1 + rng.IntN(20))
		freq := int64(0)
		if rng.Float64() > 0.4 {
			freq = 1 + rng.Int64N(orders)
			if freq > orders-1 {
				freq = max(orders-1, 0)
			}
		}
		tenure := rng.Int64N(1000)
		recency := rng.Int64N(tenure + 1)
		revenue := float64(orders) * (5 + rng.Float64()*100)
		first := runUS - tenure*86400e6 - rng.Int64N(86400e6)
		b.Field(0).(*array.Date32Builder).Append(snapshot)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("C%08d", i))
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(first))
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(first + recency*86400e6))
		b.Field(4).(*array.Int64Builder).Append(orders)
		b.Field(5).(*array.Float64Builder).Append(revenue)
		b.Field(6).(*array.Float64Builder).Append(revenue / float64(orders))
		b.Field(7).(*array.Int64Builder).Append(freq)
		b.Field(8).(*array.Int64Builder).Append(recency)
		b.Field(9).(*array.Int64Builder).Append(tenure)
		if freq > 0 {
			b.Field(10).(*array.Float64Builder).Append(revenue / float64(orders))
		} else {
			b.Field(10).AppendNull()
		}
		b.Field(11).(*array.StringBuilder).Append(countries[rng.IntN(len(countries))])
		b.Field(12).(*array.StringBuilder).Append(channels[rng.IntN(len(channels))])
	}
	return b.NewRecord()
}

// writePqarrow is retain's own write path: the load stage's properties.
func writePqarrow(rec arrow.Record, path string) error {
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
	SnapshotDate   int32    `parquet:"name=snapshot_date, type=INT32, convertedtype=DATE"`
	CustomerID     string   `parquet:"name=customer_id, type=BYTE_ARRAY, convertedtype=UTF8"`
	FirstOrderAt   int64    `parquet:"name=first_order_at, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS"`
	LastOrderAt    int64    `parquet:"name=last_order_at, type=INT64, logicaltype=TIMESTAMP, logicaltype.isadjustedtoutc=true, logicaltype.unit=MICROS"`
	OrderCount     int64    `parquet:"name=order_count, type=INT64, convertedtype=INT_64"`
	TotalRevenue   float64  `parquet:"name=total_revenue, type=DOUBLE"`
	AvgOrderValue  float64  `parquet:"name=avg_order_value, type=DOUBLE"`
	Frequency      int64    `parquet:"name=frequency, type=INT64, convertedtype=INT_64"`
	RecencyDays    int64    `parquet:"name=recency_days, type=INT64, convertedtype=INT_64"`
	TenureDays     int64    `parquet:"name=tenure_days, type=INT64, convertedtype=INT_64"`
	RepeatAvgValue *float64 `parquet:"name=repeat_avg_value, type=DOUBLE, repetitiontype=OPTIONAL"`
	Country        *string  `parquet:"name=country, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=OPTIONAL"`
	Channel        *string  `parquet:"name=channel, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=OPTIONAL"`
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
	col := func(i int) arrow.Array { return rec.Column(i) }
	date := col(0).(*array.Date32)
	id := col(1).(*array.String)
	first, last := col(2).(*array.Timestamp), col(3).(*array.Timestamp)
	orders, revenue, aov := col(4).(*array.Int64), col(5).(*array.Float64), col(6).(*array.Float64)
	freq, recency, tenure := col(7).(*array.Int64), col(8).(*array.Int64), col(9).(*array.Int64)
	repeat := col(10).(*array.Float64)
	country, channel := col(11).(*array.String), col(12).(*array.String)
	for i := 0; i < int(rec.NumRows()); i++ {
		r := summaryRow{
			SnapshotDate: int32(date.Value(i)), CustomerID: id.Value(i),
			FirstOrderAt: int64(first.Value(i)), LastOrderAt: int64(last.Value(i)),
			OrderCount: orders.Value(i), TotalRevenue: revenue.Value(i), AvgOrderValue: aov.Value(i),
			Frequency: freq.Value(i), RecencyDays: recency.Value(i), TenureDays: tenure.Value(i),
		}
		if repeat.IsValid(i) {
			v := repeat.Value(i)
			r.RepeatAvgValue = &v
		}
		if country.IsValid(i) {
			v := country.Value(i)
			r.Country = &v
		}
		if channel.IsValid(i) {
			v := channel.Value(i)
			r.Channel = &v
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
