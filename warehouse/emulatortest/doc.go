// Package emulatortest runs retain's BigQuery code against
// goccy/bigquery-emulator, which executes BigQuery SQL in process. It is a
// module of its own so the emulator (a long first build) stays out of the
// main module, its binary and `make test`; `make test-bigquery` runs it.
package emulatortest
