// Package affinityconfig holds the affinity section of the job file, apart
// from the stage, so that the BigQuery reader, which pairs products in SQL
// with pushdown, reads the same min_pair_orders.
package affinityconfig

import "retain/config"

// Config configures product_affinity (needs input.order_items).
type Config struct {
	MinPairOrders int `yaml:"min_pair_orders" doc:"The fewest orders a pair needs to be listed." range:"[1,2147483647]"`
	TopK          int `yaml:"top_k" doc:"Each product keeps its K strongest pairs." range:"[1,2147483647]"`
	MaxPairs      int `yaml:"max_pairs" doc:"The most distinct pairs held in memory; rarer pairs are pruned, and max_undercount bounds what a pruned pair could have had." range:"[1000,1073741824]"`
	OpenOrders    int `yaml:"open_orders" doc:"How many orders may collect items at once, so items of interleaved orders still form one basket." range:"[1,16777216]"`
}

// Section is the job file's affinity section.
var Section = config.NewSpec("affinity", "Product pairs bought together (product_affinity).",
	func() Config { return Config{MinPairOrders: 5, TopK: 10, MaxPairs: 5_000_000, OpenOrders: 4096} }, nil)

// Of is the job's affinity section.
func Of(f *config.File) *Config { return Section.Of(f) }
