/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Journal-before-act: a decision of the engine becomes journal rows (one
 * per action, status pending) and the hostname's new state, in one SQLite
 * transaction that is on disk (synchronous=FULL) before anything is done.
 * At start-up the persisted states go back into the engine and the rows
 * still pending come back to be applied again (every action is idempotent).
 */
#ifndef PRESAGE_CMM_JOURNAL_H
#define PRESAGE_CMM_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cmm_config.h"
#include "cmm_db.h"
#include "cmm_engine.h"

/* Persist hostname @i's state as the engine has it. */
int cmm_journal__save_host(struct cmm_db *db, const struct cmm_engine *e, int i);
/*
 * Write @x's rows (rows of older decisions of the same hostname still
 * pending are marked failed: superseded, never applied late) (filled into @rows, x->nacts of them, with their ids) and
 * the new state. 0, or a negative code: then nothing was written and
 * nothing may be done.
 */
int cmm_journal__write(struct cmm_db *db, struct cmm_engine *e, const struct cmm_decision *x,
		       int64_t now_ms, struct cmm_journal_row *rows);
/*
 * Restore every hostname's state from @db into @e (hostnames not in the
 * database are saved as they are), and return the rows still pending,
 * oldest first (caller frees).
 */
int cmm_journal__recover(struct cmm_db *db, struct cmm_engine *e, struct cmm_journal_row **pending,
			 size_t *n);

#endif
