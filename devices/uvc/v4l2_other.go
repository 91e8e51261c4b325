//go:build !linux

package uvc

import "errors"

// errNoV4L2 is what a camera answers where there is no V4L2: document cameras are supported on
// Linux only (on Windows a station runs without one, or with a camera that saves to a folder).
var errNoV4L2 = errors.New("uvc: document cameras need Linux (V4L2)")

func openWebcam(string) (device, error) { return nil, errNoV4L2 }

// List finds no cameras where there is no V4L2.
func List() ([]Info, error) { return nil, nil }
