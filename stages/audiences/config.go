package audiences

import (
	"fmt"
	"slices"
	"strings"

	"retain/config"
)

// Config says which customer lists are written as CSV under
// <output>/audiences/snapshot_date=D/ for mail and automation tools.
type Config struct {
	Enabled bool     `yaml:"enabled" doc:"false writes no lists."`
	Lists   []string `yaml:"lists" doc:"The audiences to write; the default is every one: winback_1_entered_today, winback_2_entered_today, winback_3_entered_today, lapsed_entered_today, new_customers, tier_upgrades, milestones_today, anniversaries_today, at_risk_high_value, slipped_from_top_today, p_alive_dropped_today, won_back_today."`
	// TopSegments and PAliveDrop shape the lists of movers since the
	// previous night (movers.go).
	TopSegments []string `yaml:"top_segments" doc:"The segments slipped_from_top_today watches: a customer in one of them on the previous night and in another segment tonight is on the list."`
	PAliveDrop  float64  `yaml:"p_alive_drop" doc:"p_alive_dropped_today lists customers whose p_alive fell by more than this since the previous night (previous_p_alive − p_alive), among those whose predicted_clv is above the median." range:"(0,1)"`
}

// Names are the audiences retain knows, in their documented order.
var Names = []string{
	"winback_1_entered_today", "winback_2_entered_today", "winback_3_entered_today", "lapsed_entered_today",
	"new_customers", "tier_upgrades", "milestones_today", "anniversaries_today", "at_risk_high_value",
	"slipped_from_top_today", "p_alive_dropped_today", "won_back_today",
}

// DefaultTopSegments are the segments slipped_from_top_today watches unless
// the job names others.
var DefaultTopSegments = []string{"Champions", "Loyal Customers", "Can't Lose Them"}

// Section is the job file's audiences section.
var Section = config.NewSpec("audiences", "The per-audience CSV lists marketers export.",
	func() Config {
		return Config{Enabled: true, Lists: slices.Clone(Names), TopSegments: slices.Clone(DefaultTopSegments), PAliveDrop: 0.2}
	},
	func(c *Config, _ config.Env) error {
		if len(c.Lists) == 0 {
			return fmt.Errorf("%w: audiences.lists: want at least one list (or enabled: false)", config.ErrInvalid)
		}
		for _, l := range c.Lists {
			if !slices.Contains(Names, l) {
				return fmt.Errorf("%w: audiences.lists: unknown audience %q (want one of %s)", config.ErrInvalid, l, strings.Join(Names, ", "))
			}
		}
		return nil
	})
