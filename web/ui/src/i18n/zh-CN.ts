// 简体中文. Keys mirror en.ts; the type makes a missing key a build error.
import type { Strings } from "./en";

export const zhCN: Strings = {
  app: { name: "Tend", language: "语言", skipToContent: "跳到正文" },
  nav: { spaces: "空间", myWork: "我的工作", signOut: "退出登录" },
  notFound: { title: "页面不存在", body: "这个地址下没有内容。", home: "返回空间列表" },
};
