package cases

import "github.com/execnet-conform/execnet-conform/conformance"

func propertyCases() []conformance.Case { return nil }
