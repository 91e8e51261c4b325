import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { ensureSession, installUnauthorizedRedirect } from './counter/session'
import { loadStaffLocale, resetKioskLocale } from './lib/i18n'
import { ensureHubSession, homeOf, hubUser, installHubUnauthorizedRedirect } from './hub/session'

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/kiosk' },
  {
    path: '/kiosk',
    component: () => import('./kiosk/KioskLayout.vue'),
    children: [
      { path: '', name: 'kiosk-home', component: () => import('./kiosk/KioskHome.vue'), meta: { title: '首页' } },
      { path: 'guide', name: 'kiosk-guide', component: () => import('./kiosk/GuideView.vue'), meta: { title: '办事指南' } },
      {
        path: 'guide/:code',
        name: 'kiosk-matter',
        component: () => import('./kiosk/MatterView.vue'),
        props: true,
        meta: { title: '事项详情' },
      },
      { path: 'progress', name: 'kiosk-progress', component: () => import('./kiosk/ProgressView.vue'), meta: { title: '进度查询' } },
      { path: 'mine', name: 'kiosk-mine', component: () => import('./kiosk/MyAppsView.vue'), meta: { title: '我的办件' } },
      { path: 'certificates', name: 'kiosk-certs', component: () => import('./kiosk/cert/CertTypes.vue'), meta: { title: '开具证明' } },
      { path: 'certificates/:code', name: 'kiosk-cert', component: () => import('./kiosk/cert/CertIssue.vue'), props: true, meta: { title: '开具证明' } },
      { path: ':rest(.*)*', redirect: '/kiosk' },
    ],
  },
  { path: '/counter/login', name: 'counter-login', component: () => import('./counter/LoginView.vue'), meta: { title: '登录' } },
  {
    path: '/counter',
    component: () => import('./counter/CounterLayout.vue'),
    meta: { staff: true },
    children: [
      { path: '', redirect: '/counter/work' },
      { path: 'work', name: 'counter-work', component: () => import('./counter/WorkList.vue'), meta: { title: '工作台' } },
      { path: 'intake', name: 'counter-intake', component: () => import('./counter/IntakeWizard.vue'), meta: { title: '受理' } },
      {
        path: 'applications/:id',
        name: 'counter-app',
        component: () => import('./counter/AppDetail.vue'),
        props: true,
        meta: { title: '办件详情' },
      },
      { path: 'certificates', name: 'counter-certs', component: () => import('./counter/CertList.vue'), meta: { title: '证明' } },
      { path: 'certificates/new', name: 'counter-cert-new', component: () => import('./counter/CertIssue.vue'), meta: { title: '开具证明' } },
      { path: 'certificates/:id', name: 'counter-cert', component: () => import('./counter/CertDetail.vue'), props: true, meta: { title: '证明详情' } },
      { path: ':rest(.*)*', redirect: '/counter/work' },
    ],
  },
  { path: '/setup', name: 'setup', component: () => import('./setup/SetupView.vue'), meta: { title: '设备设置' } },
  { path: '/setup/:rest(.*)*', redirect: '/setup' },
  // The department console, served by the data center's hub (syncer/hub/console).
  { path: '/hub/login', name: 'hub-login', component: () => import('./hub/HubLogin.vue'), meta: { title: '登录' } },
  {
    path: '/hub',
    component: () => import('./hub/HubLayout.vue'),
    meta: { hub: true },
    children: [
      { path: '', name: 'hub-home', redirect: () => homeOf(hubUser.value) },
      { path: 'pending', name: 'hub-pending', component: () => import('./hub/HubList.vue'), props: { list: 'pending' }, meta: { title: '待审批', hubRole: 'clerk' } },
      { path: 'decided', name: 'hub-decided', component: () => import('./hub/HubList.vue'), props: { list: 'decided' }, meta: { title: '已审批', hubRole: 'clerk' } },
      {
        path: 'applications/:station/:id',
        name: 'hub-app',
        component: () => import('./hub/HubDetail.vue'),
        props: true,
        meta: { title: '办件审批', hubRole: 'clerk' },
      },
      { path: 'admin', name: 'hub-admin', component: () => import('./hub/HubAdmin.vue'), meta: { title: '站点状态', hubRole: 'admin' } },
      { path: ':rest(.*)*', redirect: '/hub' },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/kiosk' },
]

export const router = createRouter({
  history: createWebHistory('/'),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

installUnauthorizedRedirect((next) => {
  if (router.currentRoute.value.name !== 'counter-login') {
    void router.replace({ name: 'counter-login', query: next.startsWith('/counter') ? { next } : {} })
  }
})

installHubUnauthorizedRedirect((next) => {
  if (router.currentRoute.value.name !== 'hub-login') {
    void router.replace({ name: 'hub-login', query: next.startsWith('/hub/') ? { next } : {} })
  }
})

router.beforeEach(async (to, from) => {
  // The kiosk starts in Chinese; the staff screens take the language the staff member chose.
  const kioskArea = (p: string) => p.startsWith('/kiosk')
  if (!kioskArea(to.path)) loadStaffLocale()
  else if (!from.matched.length || !kioskArea(from.path)) resetKioskLocale()
  if (to.matched.some((r) => r.meta.hub)) {
    if (!(await ensureHubSession())) {
      return { name: 'hub-login', query: to.fullPath.startsWith('/hub/') ? { next: to.fullPath } : {} }
    }
    // A page of the other role sends the account to its own start page.
    const role = to.meta.hubRole
    if (typeof role === 'string' && hubUser.value?.role !== role) return homeOf(hubUser.value)
  }
  if (to.matched.some((r) => r.meta.staff)) {
    if (!(await ensureSession())) {
      return { name: 'counter-login', query: to.fullPath !== '/counter/work' ? { next: to.fullPath } : {} }
    }
  }
  return true
})

router.afterEach((to) => {
  const area = to.path.startsWith('/counter') ? '窗口工作台' : to.path.startsWith('/setup') ? '设备设置' : '自助服务'
  const t = typeof to.meta.title === 'string' ? to.meta.title : ''
  if (to.path.startsWith('/hub')) {
    document.title = t ? `${t} · 部门审批台 · 数据中心` : '部门审批台 · 数据中心'
    return
  }
  document.title = t ? `${t} · ${area} · 社区便民服务站` : `${area} · 社区便民服务站`
})
