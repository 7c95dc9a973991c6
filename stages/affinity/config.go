package affinity

import "retain/stages/affinity/affinityconfig"

// Config configures product_affinity (needs input.order_items).
type Config = affinityconfig.Config

// Section is the job file's affinity section.
var Section = affinityconfig.Section
