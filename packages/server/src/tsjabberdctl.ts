#!/usr/bin/env node
/** `tsjabberdctl COMMAND [ARGS...] [--config FILE]`: the same as `tsjabberd ctl COMMAND [ARGS...]`. */
import { runCtl } from './ctl.js';

void runCtl(process.argv.slice(2));
