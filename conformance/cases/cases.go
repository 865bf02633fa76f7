// Package cases is the execnet-conform conformance suite: the cases that
// check a worker against SPEC.md, grouped by spec section (bootstrap,
// framing, delivery, serial, vectors, channel, exec, status, reconfigure, errors,
// concurrency, termination, robustness, property), and the cases of the
// optional profiles after them (via, rsync).
//
// Every case has a stable, readable id whose first path element is its
// section, the SPEC.md clause anchors it checks, a requirement level and a
// one-line description. All returns the whole suite in a deterministic
// order.
package cases

import (
	"slices"

	"github.com/execnet-conform/execnet-conform/conformance"
)

// sectionOrder returns the sections in the order All lists them.
func sectionOrder() []string {
	return []string{"bootstrap", "framing", "delivery", "serial", "vectors", "channel", "exec",
		"status", "reconfigure", "errors", "concurrency", "termination", "robustness", "property", "via",
		"rsync"}
}

// All returns every case of the suite, in a fixed order: by section as
// listed in the package documentation, then as each section defines them.
func All() []conformance.Case {
	var all []conformance.Case
	for _, group := range [][]conformance.Case{
		bootstrapCases(),
		bootstrapIDCases(),
		framingCases(),
		deliveryCases(),
		serialCases(),
		vectorCases(),
		negativeCases(),
		channelCases(),
		newChannelCloseErrorCases(),
		execCases(),
		statusCases(),
		reconfigureCases(),
		errorsCases(),
		concurrencyCases(),
		terminationCases(),
		robustnessCases(),
		propertyCases(),
		gapCases(), // cases of several sections, sorted in below
		codecGapCases(),
		channelGapCases(),
		procGapCases(),
		viaCases(),
		rsyncCases(),
	} {
		all = append(all, group...)
	}
	rank := map[string]int{}
	for i, s := range sectionOrder() {
		rank[s] = i
	}
	slices.SortStableFunc(all, func(a, b conformance.Case) int { return rank[a.Section()] - rank[b.Section()] })
	return all
}
