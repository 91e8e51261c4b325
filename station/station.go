// Package station is the domain of a community service station (社区便民服务站): residents and their
// identity documents, the service catalog (事项), applications (办件) and their state machine, the
// working-day calendar behind legal time limits, staff users and roles, the hash-chained audit log, and
// the Command envelope through which every state change flows.
//
// The package imports only the standard library (deps_test.go enforces it). Implementations live in
// sub-packages named after what they depend on (station/sqlite, station/http); cmd/station wires them.
package station
