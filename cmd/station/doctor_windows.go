package main

import "os"

const syscallNonblock = 0

func ownerOf(os.FileInfo) string { return "" }
