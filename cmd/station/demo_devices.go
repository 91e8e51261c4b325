package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"

	"github.com/civic-station/station/devices"
	"github.com/civic-station/station/devices/escpos"
	"github.com/civic-station/station/devices/idcard"
	"github.com/civic-station/station/devices/idcard/sam"
	"github.com/civic-station/station/devices/ipp"
	"github.com/civic-station/station/devices/rig"
	"github.com/civic-station/station/devices/sim/camsim"
	"github.com/civic-station/station/devices/sim/escpossim"
	"github.com/civic-station/station/devices/sim/ippsim"
	"github.com/civic-station/station/devices/sim/samsim"
	"github.com/civic-station/station/station"
	shttp "github.com/civic-station/station/station/http"
)

// demoDevices are the simulators `station run --demo` starts, each speaking its device's real protocol,
// and the real drivers connected to them: the SAM reader on a pty, the ESC/POS printer on TCP, the IPP
// printer over HTTP, and a camera serving photos of pages.
type demoDevices struct {
	sam    *samsim.Sim
	ticket *escpossim.Sim
	ipp    *ippsim.Printer
	ippSrv *ippsim.Server
	camera *camsim.Camera
	cards  []samsim.Card
	reader *idcard.Reader

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ shttp.DemoDevices = (*demoDevices)(nil)

// startDemoDevices starts the simulators and returns the rig configuration of drivers pointed at them.
func startDemoDevices(ctx context.Context, dataDir string, residents []demoResident, cfg rig.Config) (*demoDevices, rig.Config, error) {
	d := &demoDevices{}
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	fail := func(err error) (*demoDevices, rig.Config, error) {
		d.Close()
		return nil, cfg, err
	}
	var err error
	link := filepath.Join(dataDir, "sim-idreader")
	if d.sam, err = samsim.New(samsim.Config{Link: link, Baud: 115200, Logger: cfg.Logger}); err != nil {
		return fail(fmt.Errorf("start the simulated ID card reader: %w", err))
	}
	d.cards = demoCards(residents)
	d.reader = idcard.New(idcard.Config{Port: link, Baud: 115200, Logger: cfg.Logger})
	cfg.IDReader = d.reader

	if d.ticket, err = escpossim.New(escpossim.Config{}); err != nil {
		return fail(fmt.Errorf("start the simulated ticket printer: %w", err))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		_ = d.ticket.Serve(ctx, ln)
	}()
	if cfg.TicketPrinter, err = escpos.Open("tcp://"+ln.Addr().String(), escpos.Options{}); err != nil {
		return fail(err)
	}

	d.ipp = ippsim.New(ippsim.Config{Name: "演示A4打印机 Demo A4 printer"})
	if d.ippSrv, err = d.ipp.Listen("127.0.0.1:0"); err != nil {
		return fail(err)
	}
	if cfg.DocumentPrinter, err = ipp.New(d.ippSrv.URI(), documentPrinterOptions()); err != nil {
		return fail(err)
	}

	d.camera = camsim.New(camsim.Options{})
	cfg.Camera = d.camera
	return d, cfg, nil
}

// demoCards turns the demo residents with resident ID cards or residence permits into cards the
// simulated reader can serve, so a card placed in the demo belongs to someone the station knows.
func demoCards(residents []demoResident) []samsim.Card {
	var out []samsim.Card
	for _, r := range residents {
		var t devices.CardType
		switch r.IDType {
		case station.IDResident:
			t = devices.CardResident
		case station.IDHKMOPermit, station.IDTWPermit:
			t = devices.CardHKMOTWPermit
		default:
			continue
		}
		code, _ := sam.EthnicityCode(r.Ethnicity)
		name, _ := sam.Ethnicity(code)
		out = append(out, samsim.Card{IDCard: devices.IDCard{
			Type: t, Name: r.Name, Sex: r.Sex, EthnicityCode: code, Ethnicity: name, BirthDate: r.BirthDate,
			Address: r.Address, IDNumber: station.NormalizeIDNumber(r.IDNumber), Authority: "长春市公安局",
			ValidFrom: station.Date{Year: 2020, Month: 1, Day: 1}, ValidTo: "长期",
		}})
	}
	return out
}

// DemoCards lists the cards the simulated reader can serve, by index, with masked numbers.
func (d *demoDevices) DemoCards() []shttp.DemoCard {
	out := make([]shttp.DemoCard, 0, len(d.cards))
	for i, c := range d.cards {
		out = append(out, shttp.DemoCard{Index: i, Name: c.Name, IDNumber: station.MaskIDNumber(c.IDNumber), CardType: c.Type})
	}
	return out
}

// PlaceCard puts demo card i on the simulated reader, swapping it for the card there if there is
// one (see samsim.Sim.Swap).
func (d *demoDevices) PlaceCard(i int) (swapped bool, err error) {
	if i < 0 || i >= len(d.cards) {
		return false, station.Errorf(station.EINVALID, "没有第%d张演示证件", i)
	}
	return d.sam.Swap(d.cards[i])
}

// RemoveCard takes the card off the simulated reader.
func (d *demoDevices) RemoveCard() { d.sam.Remove() }

// SetTicketPaper loads or empties the simulated ticket printer's paper.
func (d *demoDevices) SetTicketPaper(ok bool) { d.ticket.SetPaper(ok) }

// SetDocumentPaper loads or empties the simulated A4 printer's paper.
func (d *demoDevices) SetDocumentPaper(ok bool) { d.ipp.SetMediaEmpty(!ok) }

// NextPage turns the page under the simulated camera.
func (d *demoDevices) NextPage() int { return d.camera.NextPage() }

// LastTicket returns the PNG of the last ticket the simulated printer printed.
func (d *demoDevices) LastTicket() ([]byte, error) {
	j := d.ticket.Last()
	if j == nil {
		return nil, station.Errorf(station.ENOTFOUND, "模拟打印机尚未打印任何小票")
	}
	return j.PNG()
}

// Close stops the simulators. Closing again does nothing.
func (d *demoDevices) Close() error {
	if d == nil {
		return nil
	}
	d.closeOnce.Do(func() { d.closeErr = d.close() })
	return d.closeErr
}

func (d *demoDevices) close() error {
	if d.cancel != nil {
		d.cancel()
	}
	var errs []error
	if d.reader != nil {
		errs = append(errs, d.reader.Close())
	}
	if d.ippSrv != nil {
		errs = append(errs, d.ippSrv.Close())
	}
	if d.sam != nil {
		errs = append(errs, d.sam.Close())
	}
	d.wg.Wait()
	return errors.Join(errs...)
}
