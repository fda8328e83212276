/* core/llm-internal.h */
#ifndef HVB_LLM_INTERNAL_H
#define HVB_LLM_INTERNAL_H
#endif
