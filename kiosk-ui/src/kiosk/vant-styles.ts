// Styles of the Vant components the kiosk uses (instead of the full 200 kB stylesheet).
// Vant's icon stylesheet is deliberately left out: its icon font is a data: URL (with a CDN
// fallback) that the station's Content-Security-Policy blocks; the kiosk draws its icons
// with inline SVG (KIcon.vue) instead.
import 'vant/es/style/base.css'
import 'vant/es/button/index.css'
import 'vant/es/cell/index.css'
import 'vant/es/empty/index.css'
import 'vant/es/loading/index.css'
import 'vant/es/tag/index.css'
