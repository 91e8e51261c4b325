/** How many words the kiosk dictionary keeps (the most frequent ones). */
export declare const MAX_WORDS: number
/** Returns the on-screen keyboard's dictionary text (C, S and W lines; see kbd-dict.mjs). */
export declare function buildKeyboardDict(): string
