package cert

// Category is one of the seven certificate categories of a community certificate programme. The value
// is a stable English id used in JSON and the database; Label gives the Chinese name.
type Category string

// The seven categories.
const (
	CategoryLivelihood      Category = "livelihood"       // 民生
	CategoryFamilyPlanning  Category = "family_planning"  // 计生
	CategoryLabour          Category = "labour"           // 劳动保障
	CategoryJudicial        Category = "judicial"         // 司法
	CategoryPoliticalReview Category = "political_review" // 政审
	CategoryHousing         Category = "housing"          // 房屋
	CategoryOther           Category = "other"            // 其他
)

// Categories lists every category in display order.
var Categories = []Category{CategoryLivelihood, CategoryFamilyPlanning, CategoryLabour, CategoryJudicial,
	CategoryPoliticalReview, CategoryHousing, CategoryOther}

// Label returns the Chinese name of the category, or the id itself for an unknown category.
func (c Category) Label() string {
	switch c {
	case CategoryLivelihood:
		return "民生"
	case CategoryFamilyPlanning:
		return "计生"
	case CategoryLabour:
		return "劳动保障"
	case CategoryJudicial:
		return "司法"
	case CategoryPoliticalReview:
		return "政审"
	case CategoryHousing:
		return "房屋"
	case CategoryOther:
		return "其他"
	}
	return string(c)
}

// Valid reports whether c is one of the seven categories.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if k == c {
			return true
		}
	}
	return false
}
