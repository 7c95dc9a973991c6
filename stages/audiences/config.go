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
	Lists   []string `yaml:"lists" doc:"The audiences to write; the default is every one: winback_1_entered_today, winback_2_entered_today, winback_3_entered_today, lapsed_entered_today, new_customers, tier_upgrades, milestones_today, anniversaries_today, at_risk_high_value."`
}

// Names are the audiences retain knows, in their documented order.
var Names = []string{
	"winback_1_entered_today", "winback_2_entered_today", "winback_3_entered_today", "lapsed_entered_today",
	"new_customers", "tier_upgrades", "milestones_today", "anniversaries_today", "at_risk_high_value",
}

// Section is the job file's audiences section.
var Section = config.NewSpec("audiences", "The per-audience CSV lists marketers export.",
	func() Config { return Config{Enabled: true, Lists: slices.Clone(Names)} },
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
