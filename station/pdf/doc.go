// Package pdf draws community certificates (社区证明) as one-page A4 PDFs and previews them as images.
//
// Render takes a Certificate — plain, already-filled text and a QR payload; this package knows nothing
// of certificate types, rules or signatures, which the caller owns — and returns the PDF. Preview
// rasterizes page 1 to PNG through station/pdf/raster (about 100 dpi for a screen, 300 dpi for a
// printer that needs pixels). Seal draws a round red demo seal for stations without an image of their
// own.
//
// # Text and fonts
//
// All text is real PDF text in embedded TrueType subsets with a ToUnicode map, so pdftotext and a PDF
// reader's search give the Chinese back. Two fonts are embedded in the binary: Droid Sans Fallback
// (fonts/, Apache-2.0, about 4 MB) for Han characters and CJK punctuation, and Go Regular
// (golang.org/x/image/font/gofont/goregular) for Latin letters and digits, which Droid Sans Fallback
// lacks. ASCII is always drawn with Go Regular; anything else with Droid Sans Fallback when it has the
// glyph, else with Go Regular. A character neither font has is refused with an error naming it rather
// than printed as an empty box. The PDF writer is github.com/go-pdf/fpdf: it renumbers the glyphs of a
// subset, so a certificate carries only the glyphs it uses (about 12 KB for a typical certificate,
// 50 KB for a page of distinct characters). github.com/signintech/gopdf was tried and not used: its
// subsets keep the whole loca and hmtx tables of the 30,000-glyph font (about 40 KB compressed even for
// a few characters), and it left characters the font lacks out of the text layer.
//
// # Layout
//
// Points from the top-left corner of the page: a double frame 10 and 11.5 mm in; the station's name
// top left and "编号：<serial>" top right; the title centred (26 pt, shrunk to 18 pt if long); the
// optional mark ("补打") in red in a red frame at the right of the title; the body at 15 pt with 28 pt
// leading, each paragraph's first line indented by two characters, then the labelled fields; the
// issuer and the date (centred under it) bottom right with the seal, 42 mm across, over both (alpha
// 0.9, multiplied, so the text shows through); the QR code (92 pt, error correction M, drawn as vector
// rectangles so it is sharp at any resolution) bottom left with its caption; footer lines at 10 pt at
// the bottom. Lines are broken between Han characters and around Latin words, never before closing
// punctuation nor after opening punctuation (避头尾); a word wider than a line, such as a URL, is broken
// between characters. The body holds 13 lines (about 380 characters); text that does not fit is an
// error, never a second page or text off the page.
//
// # Determinism
//
// The same Certificate gives the same bytes: the PDF's creation and modification dates are the issue
// date at midnight China time, objects are written in sorted order, there is no document ID, and the
// generated seal and the QR code are pure functions of their input. Golden renders depend on that.
//
// # Errors
//
// Input problems are *station.Error with code EINVALID and a Chinese message for the clerk: a missing
// title, serial, date, station name, issuer, body or QR payload; a QR payload over MaxQRPayload bytes;
// a title, issuer or header too long for its line; a body over 13 lines or a footer over 4; a
// character the fonts lack or a control character; a seal that is not a PNG or is over MaxSeal bytes.
//
// # Cost
//
// On the 2-core development machine, Render plus a 100-dpi Preview of a typical certificate takes
// about 64 ms (p50; p95 78 ms; roughly 25 ms render, 38 ms preview) and the PDF is about 62 KB, 26 KB of it the
// seal image; see BenchmarkCertificate. Generating the demo seal takes about 9 ms, so a station should
// generate or load its seal once rather than pass nil on every render.
package pdf
