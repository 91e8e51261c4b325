//go:build !nomupdf

// go-fitz's bundled MuPDF for linux/arm64 was compiled against glibc 2.38, whose headers turn strtol
// and strtoul into their C23 variants. Debian 12, UOS and Kylin ship an older glibc without those
// symbols; the C23 variants differ only in also accepting "0b" prefixes, which MuPDF's callers
// (HarfBuzz's number parser) never pass, so the classic functions stand in for them.
#include <stdlib.h>

long __isoc23_strtol(const char *nptr, char **endptr, int base) { return strtol(nptr, endptr, base); }
unsigned long __isoc23_strtoul(const char *nptr, char **endptr, int base) { return strtoul(nptr, endptr, base); }
