package validateconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"retain/config"
)

// decode reads a job file that holds only the validate section, so these
// tests depend on no other section's rules.
func decode(body string) (*config.File, error) {
	return config.Decode([]byte("name: n\n"+body), "/", []config.Section{Section})
}

func TestSectionValues(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       Validate
	}{
		{"defaults", "", Validate{CountedStatuses: []string{"completed"}, RefundStatuses: []string{"refunded", "returned"}, MaxVolumeDrop: 0.5, MaxAmount: 1e9, MinOrderTS: "1990-01-01"}},
		{"limits set", "validate: {max_amount: 1e6, min_order_ts: 2001-02-03}\n",
			Validate{CountedStatuses: []string{"completed"}, RefundStatuses: []string{"refunded", "returned"}, MaxVolumeDrop: 0.5, MaxAmount: 1e6, MinOrderTS: "2001-02-03"}},
		// 1 turns the volume guard off, so it must not be mistaken for unset.
		{"guard off", "validate: {max_volume_drop: 1}\n", Validate{CountedStatuses: []string{"completed"}, RefundStatuses: []string{"refunded", "returned"}, MaxVolumeDrop: 1, MaxAmount: 1e9, MinOrderTS: "1990-01-01"}},
		{"statuses", "validate: {counted_statuses: [completed, Shipped]}\n",
			Validate{CountedStatuses: []string{"completed", "Shipped"}, RefundStatuses: []string{"refunded", "returned"}, MaxVolumeDrop: 0.5, MaxAmount: 1e9, MinOrderTS: "1990-01-01"}},
		{"refunds off", "validate: {refund_statuses: []}\n",
			Validate{CountedStatuses: []string{"completed"}, RefundStatuses: []string{}, MaxVolumeDrop: 0.5, MaxAmount: 1e9, MinOrderTS: "1990-01-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := decode(tt.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if got := *Of(f); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("validate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSectionErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"negative max_amount", "validate: {max_amount: -1}\n", "validate.max_amount: -1 is out of range"},
		// Larger amounts would overflow the exact sums' 64-bit parts.
		{"max_amount above 10^12", "validate: {max_amount: 2e12}\n", "validate.max_amount: 2e+12 is out of range"},
		{"zero max_amount", "validate: {max_amount: 0}\n", "validate.max_amount: 0 is out of range"},
		{"infinite max_amount", "validate: {max_amount: .inf}\n", "validate.max_amount: +Inf is out of range"},
		{"max_amount not a number", "validate: {max_amount: .nan}\n", "validate.max_amount: NaN is out of range"},
		{"min_order_ts not a date", "validate: {min_order_ts: yesterday}\n", `validate.min_order_ts "yesterday": want a date YYYY-MM-DD`},
		{"min_order_ts on no day", "validate: {min_order_ts: 1990-02-30}\n", `validate.min_order_ts "1990-02-30"`},
		{"volume drop above 1", "validate: {max_volume_drop: 1.5}\n", "validate.max_volume_drop: 1.5 is out of range"},
		{"negative volume drop", "validate: {max_volume_drop: -0.1}\n", "validate.max_volume_drop: -0.1 is out of range"},
		{"status counted and refunded", "validate: {counted_statuses: [completed, Returned], refund_statuses: [returned]}\n", `validate.refund_statuses: "returned" is also in counted_statuses`},
		{"no counted statuses", "validate: {counted_statuses: []}\n", "validate.counted_statuses: want at least one status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.yaml)
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalid mentioning %q", err, tt.want)
			}
		})
	}
}
