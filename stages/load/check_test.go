package load

import (
	"errors"
	"math"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
)

func TestCheckValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "revenue", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	tests := []struct {
		name    string
		ids     []string
		revenue []float64
		valid   []bool // of revenue
		want    string
	}{
		{"clean", []string{"C1", "Ü2"}, []float64{1, 2}, nil, ""},
		{"NaN", []string{"C1", "C2"}, []float64{1, math.NaN()}, nil, "t.revenue row 1 holds NaN"},
		{"+Inf", []string{"C1", "C2"}, []float64{math.Inf(1), 0}, nil, "t.revenue row 0 holds +Inf"},
		{"NaN under a null is not a value", []string{"C1", "C2"}, []float64{1, math.NaN()}, []bool{true, false}, ""},
		{"invalid UTF-8", []string{"C1", "C\xff\xfe"}, []float64{1, 2}, nil, `t.customer_id row 1 holds invalid UTF-8 "C\xff\xfe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := array.NewRecordBuilder(mem, schema)
			defer b.Release()
			b.Field(0).(*array.StringBuilder).AppendValues(tt.ids, nil)
			b.Field(1).(*array.Float64Builder).AppendValues(tt.revenue, tt.valid)
			rec := b.NewRecord()
			defer rec.Release()
			err := checkValues("t", rec)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrUnsafeValue) || err.Error() != "unsafe output value: "+tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
