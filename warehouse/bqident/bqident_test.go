package bqident

import (
	"errors"
	"strings"
	"testing"
)

func TestIdentifiers(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"project", Project, "my-shop-prod", true},
		{"project digits", Project, "shop-123456", true},
		{"project too short", Project, "shop", false},
		{"project uppercase", Project, "My-Shop", false},
		{"project trailing hyphen", Project, "my-shop-", false},
		{"project domain scoped", Project, "example.com:shop", false},
		{"project backtick", Project, "shop`; DROP TABLE x; --", false},
		{"dataset", Dataset, "retain_prod", true},
		{"dataset hyphen", Dataset, "retain-prod", false},
		{"dataset dot", Dataset, "a.b", false},
		{"dataset empty", Dataset, "", false},
		{"table", Table, "orders_2026", true},
		{"table hyphen", Table, "orders-eu", true},
		{"table backtick", Table, "orders` WHERE 1=1 --", false},
		{"table space", Table, "orders x", false},
		{"table newline", Table, "orders\n", false},
		{"table unicode", Table, "bestellungen_ü", false},
		{"table too long", Table, strings.Repeat("t", 1025), false},
		{"column", Column, "PlacedAt", true},
		{"column underscore", Column, "_id", true},
		{"column digit first", Column, "1st", false},
		{"column quote", Column, `amount"`, false},
		{"column semicolon", Column, "amount; DELETE", false},
		{"column reserved", Column, "_PARTITIONTIME", false},
		{"column reserved table", Column, "_TABLE_SUFFIX", false},
		{"location multi-region", Location, "EU", true},
		{"location region", Location, "europe-west3", true},
		{"location empty", Location, "", true},
		{"location hostile", Location, "EU' OR '1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			if tt.ok && err != nil {
				t.Fatalf("%q rejected: %v", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%q accepted (err %v)", tt.in, err)
			}
		})
	}
}

func TestQuoted(t *testing.T) {
	q, err := TableRef{"my-shop-prod", "sales", "orders"}.Quoted()
	if err != nil || q != "`my-shop-prod.sales.orders`" {
		t.Fatalf("Quoted = %q, %v", q, err)
	}
	if _, err := (TableRef{"my-shop-prod", "sales", "orders`"}).Quoted(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("hostile table quoted: %v", err)
	}
	c, err := QuoteColumn("PlacedAt")
	if err != nil || c != "`PlacedAt`" {
		t.Fatalf("QuoteColumn = %q, %v", c, err)
	}
	if _, err := QuoteColumn("a`b"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("hostile column quoted: %v", err)
	}
}
