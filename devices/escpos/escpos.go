// Package escpos drives thermal ticket printers that speak ESC/POS (Epson's command set, which the
// Chinese 58 and 80 mm printers sold for queue tickets and receipts follow): an Encoder that turns a
// devices.Ticket into ESC/POS bytes (GB18030 text in Chinese mode, QR codes, raster images for lines
// the printer's GBK font cannot print), the real-time status replies (DLE EOT), and a Printer that
// implements devices.TicketPrinter over raw TCP (port 9100) or a serial port.
package escpos

// Paper widths in dots at 203 dpi, the printable width of the two common roll sizes.
const (
	Width58 = 384 // 58 mm paper: 48 mm printable, 32 half-width characters
	Width80 = 576 // 80 mm paper: 72 mm printable, 48 half-width characters
)

// Command bytes. The names follow Epson's ESC/POS reference.
const (
	esc = 0x1B
	fs  = 0x1C
	gs  = 0x1D
	dle = 0x10
	eot = 0x04
	lf  = 0x0A
)

// QR error correction levels for GS ( k fn=69: the byte is 48 + level.
const (
	QRLevelL byte = 0x30 // ~7 %
	QRLevelM byte = 0x31 // ~15 %
	QRLevelQ byte = 0x32 // ~25 %
	QRLevelH byte = 0x33 // ~30 %
)

// Text metrics of the printer's built-in font A: half-width characters are 12×24 dots, Chinese
// characters 24×24; raster lines are drawn at the same size so they line up with printed text.
const (
	charHeight = 24
)
