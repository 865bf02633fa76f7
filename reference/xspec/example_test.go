package xspec_test

import (
	"fmt"

	"github.com/execnet-conform/execnet-conform/reference/xspec"
)

func ExampleParse() {
	s, err := xspec.Parse("popen//python=/usr/bin/python3 -X dev//id=gw3//env:LANG=C")
	if err != nil {
		fmt.Println(err)
		return
	}
	args, _ := s.PythonArgs()
	fmt.Println(s.Kind, s.ID, s.WorkerID("gw0"), s.Env["LANG"])
	fmt.Printf("%q\n", args)
	fmt.Println(s.Validate())

	_, err = xspec.Parse("popen//id=a//id=b")
	fmt.Println(err)
	// Output:
	// popen gw3 gw3-worker C
	// ["/usr/bin/python3" "-X" "dev"]
	// <nil>
	// xspec "popen//id=a//id=b": duplicate key "id" at offset 13
}
