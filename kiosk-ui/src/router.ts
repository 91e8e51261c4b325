import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { ensureSession, installUnauthorizedRedirect } from './counter/session'

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
      { path: ':rest(.*)*', redirect: '/counter/work' },
    ],
  },
  { path: '/setup', name: 'setup', component: () => import('./setup/SetupView.vue'), meta: { title: '设备设置' } },
  { path: '/setup/:rest(.*)*', redirect: '/setup' },
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

router.beforeEach(async (to) => {
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
  document.title = t ? `${t} · ${area} · 社区便民服务站` : `${area} · 社区便民服务站`
})
