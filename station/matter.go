package station

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// MatterKind says whether a matter is completed on the spot or needs a department's approval.
type MatterKind string

// Matter kinds.
const (
	KindImmediate  MatterKind = "immediate"  // 即办件: completed at the counter
	KindCommitment MatterKind = "commitment" // 承诺件: forwarded to a department, decided within the time limit
)

// MatterStatus says whether a matter can be applied for.
type MatterStatus string

// Matter statuses.
const (
	MatterActive    MatterStatus = "active"
	MatterWithdrawn MatterStatus = "withdrawn" // withdrawn centrally; kept for history, no new applications
)

// Material is one document in a matter's checklist.
type Material struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Note     string `json:"note,omitempty"` // e.g. 原件及复印件
}

// Matter is a service in the catalog (事项).
type Matter struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Pinyin string `json:"pinyin"` // initials of the name, for search (zdshbzsq)
	// Aliases are the everyday names people use for the matter (低保, 低保申请 for 最低生活保障申请),
	// searched like the name, with their pinyin initials. At most MaxAliases, each at most
	// MaxAliasLen characters.
	Aliases       []string     `json:"aliases"`
	Department    string       `json:"department"`
	Category      string       `json:"category"`
	Kind          MatterKind   `json:"kind"`
	TimeLimitDays int          `json:"time_limit_days"` // legal time limit in working days; 0 for immediate matters
	FeeCents      int64        `json:"fee_cents"`
	FeeNote       string       `json:"fee_note"`
	Certificate   bool         `json:"certificate"` // whether a certificate is issued
	Location      string       `json:"location"`    // where to go in the station
	Conditions    []string     `json:"conditions"`
	Materials     []Material   `json:"materials"`
	Status        MatterStatus `json:"status"`
	Version       int          `json:"version"`
}

// Limits on a matter's aliases.
const (
	MaxAliases  = 10
	MaxAliasLen = 20
)

// Validate checks a matter's fields and returns EINVALID naming the matter and the problem.
func (m *Matter) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(EINVALID, "事项%s：%s", m.Code, Errorf(EINVALID, format, args...).Message)
	}
	switch {
	case strings.TrimSpace(m.Code) == "" || utf8.RuneCountInString(m.Code) > 32:
		return Errorf(EINVALID, "事项编码不能为空且不超过32个字符")
	case strings.TrimSpace(m.Name) == "":
		return bad("名称不能为空")
	case strings.TrimSpace(m.Department) == "":
		return bad("承办部门不能为空")
	case strings.TrimSpace(m.Category) == "":
		return bad("分类不能为空")
	case m.Kind != KindImmediate && m.Kind != KindCommitment:
		return bad("办件类型“%s”无效", m.Kind)
	case m.Kind == KindCommitment && (m.TimeLimitDays <= 0 || m.TimeLimitDays > 365):
		return bad("承诺件的法定时限应为1至365个工作日")
	case m.Kind == KindImmediate && m.TimeLimitDays != 0:
		return bad("即办件的时限应为0")
	case m.FeeCents < 0:
		return bad("收费不能为负数")
	case m.Status != MatterActive && m.Status != MatterWithdrawn:
		return bad("状态“%s”无效", m.Status)
	case m.Version < 1:
		return bad("版本号应从1开始")
	}
	texts := []textField{{"名称", m.Name, 200}, {"承办部门", m.Department, 100}, {"分类", m.Category, 50},
		{"收费说明", m.FeeNote, 200}, {"办理地点", m.Location, 100}}
	for _, c := range m.Conditions {
		texts = append(texts, textField{"受理条件", c, 500})
	}
	for _, mat := range m.Materials {
		texts = append(texts, textField{"材料名称", mat.Name, 200}, textField{"材料说明", mat.Note, 200})
	}
	for _, t := range texts {
		if err := CheckText(t.what, t.value, t.max, false); err != nil {
			return bad("%s", ErrorMessage(err))
		}
	}
	if len(m.Aliases) > MaxAliases {
		return bad("别名最多%d个，当前%d个", MaxAliases, len(m.Aliases))
	}
	aliases := map[string]bool{}
	for _, a := range m.Aliases {
		switch {
		case strings.TrimSpace(a) == "":
			return bad("别名不能为空")
		case CheckText("别名", a, 1000, true) != nil:
			return bad("别名“%s”含有无效字符", a)
		case strings.TrimSpace(a) != a:
			return bad("别名“%s”首尾不能有空格", a)
		case utf8.RuneCountInString(a) > MaxAliasLen:
			return bad("别名“%s”超过%d个字", a, MaxAliasLen)
		case a == m.Name:
			return bad("别名“%s”与事项名称相同", a)
		case aliases[a]:
			return bad("别名“%s”重复", a)
		}
		aliases[a] = true
	}
	seen := map[string]bool{}
	for _, mat := range m.Materials {
		if mat.Code == "" || mat.Name == "" {
			return bad("材料的编码和名称不能为空")
		}
		if seen[mat.Code] {
			return bad("材料编码%s重复", mat.Code)
		}
		seen[mat.Code] = true
	}
	return nil
}

// MaterialCheck records whether the applicant provided one material of the checklist.
type MaterialCheck struct {
	Code     string `json:"code"`
	Name     string `json:"name,omitempty"`
	Required bool   `json:"required"`
	Provided bool   `json:"provided"`
	BlobSHA  string `json:"blob_sha256,omitempty"` // scanned copy, when there is one
}

// Checklist merges the provided flags into the matter's material list. It returns EINVALID when a code
// is not one of the matter's materials.
func (m *Matter) Checklist(provided []MaterialCheck) ([]MaterialCheck, error) {
	byCode := map[string]MaterialCheck{}
	for _, p := range provided {
		byCode[p.Code] = p
	}
	out := make([]MaterialCheck, 0, len(m.Materials))
	for _, mat := range m.Materials {
		p := byCode[mat.Code]
		delete(byCode, mat.Code)
		out = append(out, MaterialCheck{Code: mat.Code, Name: mat.Name, Required: mat.Required, Provided: p.Provided, BlobSHA: p.BlobSHA})
	}
	for code := range byCode {
		return nil, Errorf(EINVALID, "材料编码%s不属于事项“%s”", code, m.Name)
	}
	return out, nil
}

// MissingRequired returns the names of required materials not provided.
func MissingRequired(list []MaterialCheck) []string {
	var missing []string
	for _, c := range list {
		if c.Required && !c.Provided {
			missing = append(missing, c.Name)
		}
	}
	return missing
}

// Deferral is 容缺受理: an application accepted although required materials are missing, as an
// explicit choice of the clerk, with the missing materials, why, and the day by which the applicant
// brings them. It is recorded on the application, audited, sent to the data center with the intake,
// and shown to the applicant.
type Deferral struct {
	Materials []string `json:"materials"` // codes of the required materials accepted as missing
	Reason    string   `json:"reason"`
	DueDate   Date     `json:"due_date"` // the last day to bring them
}

// MaxDeferralDays bounds how far ahead of the intake a deferral's due date may be.
const MaxDeferralDays = 90

// CheckIntakeMaterials is the intake rule for materials: an application whose checklist lacks required
// materials is refused (EINVALID listing them) unless it carries a deferral that names exactly the
// missing required materials, a reason of 2 to 200 characters and a due date after today and at most
// MaxDeferralDays ahead. A deferral on a complete checklist is refused too: there is nothing to defer.
func CheckIntakeMaterials(list []MaterialCheck, d *Deferral, today Date) error {
	bad := func(format string, args ...any) error { return Errorf(EINVALID, format, args...) }
	missing := MissingRequired(list)
	if d == nil {
		if len(missing) > 0 {
			return bad("以下%d项必需材料未收取：%s。请收齐后受理，或选择容缺受理并写明原因和补交期限", len(missing), strings.Join(missing, "、"))
		}
		return nil
	}
	if len(missing) == 0 {
		return bad("必需材料已收齐，无需容缺受理")
	}
	byCode := map[string]MaterialCheck{}
	for _, c := range list {
		byCode[c.Code] = c
	}
	named := map[string]bool{}
	for _, code := range d.Materials {
		c, ok := byCode[code]
		switch {
		case !ok:
			return bad("容缺材料%s不属于该事项", code)
		case !c.Required:
			return bad("“%s”不是必需材料，无需容缺", c.Name)
		case c.Provided:
			return bad("“%s”已收取，不能列为容缺材料", c.Name)
		case named[code]:
			return bad("容缺材料“%s”重复", c.Name)
		}
		named[code] = true
	}
	var unnamed []string
	for _, c := range list {
		if c.Required && !c.Provided && !named[c.Code] {
			unnamed = append(unnamed, c.Name)
		}
	}
	if len(unnamed) > 0 {
		return bad("容缺受理须列出全部未收取的必需材料，未列入：%s", strings.Join(unnamed, "、"))
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(d.Reason)); n < 2 || n > 200 {
		return bad("请填写容缺受理的原因（2至200个字）")
	}
	switch {
	case d.DueDate.IsZero():
		return bad("请填写补交材料的期限")
	case !d.DueDate.After(today):
		return bad("补交期限应晚于受理当天（%s）", today)
	case d.DueDate.After(today.AddDays(MaxDeferralDays)):
		return bad("补交期限最长为受理后%d天（%s）", MaxDeferralDays, today.AddDays(MaxDeferralDays))
	}
	return nil
}

// Outstanding returns the deferred materials the checklist still lacks (none once all were brought).
func (d *Deferral) Outstanding(list []MaterialCheck) []MaterialCheck {
	if d == nil {
		return nil
	}
	var out []MaterialCheck
	for _, c := range list {
		if !c.Provided && slices.Contains(d.Materials, c.Code) {
			out = append(out, c)
		}
	}
	return out
}

// Overdue reports whether deferred materials are still outstanding after the due date.
func (d *Deferral) Overdue(list []MaterialCheck, today Date) bool {
	return d != nil && today.After(d.DueDate) && len(d.Outstanding(list)) > 0
}
