// Pause, resume, single-step and stop for a running experiment. The experiment awaits
// waitWhilePaused() between interleaved steps (every run's step t, then step t + 1), so a command
// takes effect at the next step boundary.

/** Pause, resume, single-step and stop a running experiment (between interleaved steps). */
export class ExperimentController {
  private pausedFlag = false;
  private stoppedFlag = false;
  /** Interleaved steps allowed while paused (stepOnce). */
  private pendingSteps = 0;
  private wake: (() => void) | null = null;

  get paused(): boolean {
    return this.pausedFlag;
  }

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  pause(): void {
    this.pausedFlag = true;
  }

  resume(): void {
    this.pausedFlag = false;
    this.release();
  }

  stop(): void {
    this.stoppedFlag = true;
    this.release();
  }

  /** While paused: let exactly one more interleaved step (every run's next step) through. */
  stepOnce(): void {
    if (!this.pausedFlag) return;
    this.pendingSteps++;
    this.release();
  }

  /** Resolves at once unless paused; then when resumed, stopped or single-stepped. */
  waitWhilePaused(): Promise<void> {
    if (!this.pausedFlag || this.stoppedFlag) return Promise.resolve();
    if (this.pendingSteps > 0) {
      this.pendingSteps--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    }).then(() => this.waitWhilePaused());
  }

  private release(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
