// Package shop is the example app of `pylon up` (issue #5): app.yaml runs
// the services in the folders beside this file, each a small standalone Go
// program reached through the mesh. This package holds only the test that
// app.yaml parses and names programs that exist; README.md walks through
// the app.
package shop
