package http

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/civic-station/station/station"
)

// residentView is a resident as staff see it: the document number masked unless revealed, the phone
// masked.
type residentView struct {
	ID        string         `json:"id"`
	IDType    station.IDType `json:"id_type"`
	IDNumber  string         `json:"id_number"`
	Revealed  bool           `json:"revealed,omitempty"`
	Name      string         `json:"name"`
	Sex       station.Sex    `json:"sex"`
	Ethnicity string         `json:"ethnicity"`
	BirthDate *station.Date  `json:"birth_date"`
	Address   string         `json:"address"`
	Community string         `json:"community"`
	Grid      string         `json:"grid"`
	Phone     string         `json:"phone"`
	Tags      []string       `json:"tags"`
	// RegisteredSince is when the resident was registered in this community (居住登记); null when unknown.
	RegisteredSince *station.Date `json:"registered_since"`
}

func viewResident(r *station.Resident) residentView {
	v := residentView{
		ID: r.ID, IDType: r.IDNumber.Type, IDNumber: r.IDNumber.Masked, Name: r.Name, Sex: r.Sex,
		Ethnicity: r.Ethnicity, Address: r.Address, Community: r.Community, Grid: r.Grid,
		Phone: station.MaskPhone(r.Phone), Tags: r.Tags,
	}
	if !r.BirthDate.IsZero() {
		d := r.BirthDate
		v.BirthDate = &d
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if !r.RegisteredSince.IsZero() {
		d := r.RegisteredSince
		v.RegisteredSince = &d
	}
	return v
}

type residentLookup struct {
	IDType   station.IDType `json:"id_type"`
	IDNumber string         `json:"id_number"`
}

// normalizeDocument checks a typed document and returns its normalized number. The number never
// appears in the error.
func normalizeDocument(t station.IDType, number string) (string, error) {
	if !t.Valid() {
		return "", station.Errorf(station.EINVALID, "证件类型无效")
	}
	n := station.NormalizeIDNumber(number)
	if n == "" {
		return "", station.Errorf(station.EINVALID, "请输入%s号码", t.Label())
	}
	if err := station.ValidateIDNumber(t, n); err != nil {
		return "", err
	}
	return n, nil
}

// recordAccess audits a staff read of personal data.
func (s *Server) recordAccess(c *fiber.Ctx, object, purpose string) error {
	_, err := s.submit(c.UserContext(), station.CmdAccessRecord, caller(c).actor(), station.AccessRecord{Object: object, Purpose: purpose})
	return err
}

func (s *Server) handleResidentLookup(c *fiber.Ctx) error {
	var req residentLookup
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	number, err := normalizeDocument(req.IDType, req.IDNumber)
	if err != nil {
		return err
	}
	r, err := s.store.ResidentByIndex(c.UserContext(), s.sealer.Index(req.IDType, number))
	if station.ErrorCode(err) == station.ENOTFOUND {
		return station.Errorf(station.ENOTFOUND, "未找到该居民")
	} else if err != nil {
		return err
	}
	if err := s.recordAccess(c, "resident:"+r.ID, "lookup"); err != nil {
		return err
	}
	return c.JSON(viewResident(r))
}

func (s *Server) handleResident(c *fiber.Ctx) error {
	p := caller(c)
	reveal := c.Query("reveal") == "1"
	if reveal && !slices.Contains(revealRoles, p.user.Role) {
		return station.Errorf(station.EFORBIDDEN, "当前角色（%s）无权查看完整证件号码", p.user.Role.Label())
	}
	r, err := s.store.Resident(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	v := viewResident(r)
	purpose := "view"
	if reveal {
		number, err := s.sealer.Open(r.IDNumber)
		if err != nil {
			return err
		}
		purpose = "reveal"
		v.IDNumber, v.Revealed, v.Phone = number, true, r.Phone
	}
	if err := s.recordAccess(c, "resident:"+r.ID, purpose); err != nil {
		return err
	}
	return c.JSON(v)
}

// residentInput creates or updates a resident. Sex and birth date default to what the document number
// encodes.
type residentInput struct {
	IDType    station.IDType `json:"id_type"`
	IDNumber  string         `json:"id_number"`
	Name      string         `json:"name"`
	Sex       station.Sex    `json:"sex,omitempty"`
	Ethnicity string         `json:"ethnicity,omitempty"`
	BirthDate *station.Date  `json:"birth_date,omitempty"`
	Address   string         `json:"address,omitempty"`
	Community string         `json:"community,omitempty"`
	Grid      string         `json:"grid,omitempty"`
	Phone     string         `json:"phone,omitempty"`
	Tags      []string       `json:"tags,omitempty"`
	// RegisteredSince sets the community registration date; omitted, an existing resident keeps theirs.
	RegisteredSince *station.Date `json:"registered_since,omitempty"`
}

// upsert seals the resident's document and builds the command payload for the resident with the
// given ID.
func (in residentInput) upsert(sealer station.Sealer, number, residentID string) (station.ResidentUpsert, error) {
	sealed, err := sealer.Seal(in.IDType, number)
	if err != nil {
		return station.ResidentUpsert{}, err
	}
	up := station.ResidentUpsert{
		ResidentID: residentID, IDNumber: sealed, Name: strings.TrimSpace(in.Name), Sex: in.Sex,
		Ethnicity: in.Ethnicity, Address: in.Address, Community: in.Community, Grid: in.Grid,
		Phone: strings.TrimSpace(in.Phone), Tags: in.Tags,
	}
	if in.BirthDate != nil {
		up.BirthDate = *in.BirthDate
	} else if d, ok := station.BirthDateFromID(in.IDType, number); ok {
		up.BirthDate = d
	}
	if up.Sex == "" {
		up.Sex, _ = station.SexFromID(in.IDType, number)
	}
	if up.Tags == nil {
		up.Tags = []string{}
	}
	if in.RegisteredSince != nil {
		up.RegisteredSince = *in.RegisteredSince
	}
	return up, nil
}

func (s *Server) handleResidentUpsert(c *fiber.Ctx) error {
	var in residentInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	number, err := normalizeDocument(in.IDType, in.IDNumber)
	if err != nil {
		return err
	}
	if strings.TrimSpace(in.Name) == "" {
		return station.Errorf(station.EINVALID, "请输入姓名")
	}
	ctx := c.UserContext()
	id, status := s.newID(), fiber.StatusCreated
	existing, err := s.store.ResidentByIndex(ctx, s.sealer.Index(in.IDType, number))
	switch {
	case err == nil:
		id, status = existing.ID, fiber.StatusOK
		if in.RegisteredSince == nil && !existing.RegisteredSince.IsZero() {
			d := existing.RegisteredSince
			in.RegisteredSince = &d
		}
	case station.ErrorCode(err) != station.ENOTFOUND:
		return err
	}
	up, err := in.upsert(s.sealer, number, id)
	if err != nil {
		return err
	}
	res, err := s.submit(ctx, station.CmdResidentUpsert, caller(c).actor(), up)
	if err != nil {
		return err
	}
	if res.ObjectID != "" {
		id = res.ObjectID
	}
	r, err := s.store.Resident(ctx, id)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(viewResident(r))
}
