// Package cases is the execnet-conform conformance suite: the cases that
// check a worker against SPEC.md, grouped by spec section (bootstrap,
// framing, delivery, serial, vectors, channel, exec, status, reconfigure, errors,
// concurrency, termination, robustness, property).
//
// Every case has a stable, readable id whose first path element is its
// section, the SPEC.md clause anchors it checks, a requirement level and a
// one-line description. All returns the whole suite in a deterministic
// order.
package cases

import "github.com/execnet-conform/execnet-conform/conformance"

// All returns every case of the suite, in a fixed order: by section as
// listed in the package documentation, then as each section defines them.
func All() []conformance.Case {
	var all []conformance.Case
	for _, group := range [][]conformance.Case{
		bootstrapCases(),
		framingCases(),
		deliveryCases(),
		serialCases(),
		vectorCases(),
		negativeCases(),
		channelCases(),
		execCases(),
		statusCases(),
		reconfigureCases(),
		errorsCases(),
		concurrencyCases(),
		terminationCases(),
		robustnessCases(),
		propertyCases(),
	} {
		all = append(all, group...)
	}
	return all
}
