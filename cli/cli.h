/* cli/cli.h */
#ifndef HB_CLI_H
#define HB_CLI_H
int hb_cmd_chat(int argc, char **argv);
int hb_cmd_cfg(int argc, char **argv);
int hb_cmd_spec(int argc, char **argv);
#endif
