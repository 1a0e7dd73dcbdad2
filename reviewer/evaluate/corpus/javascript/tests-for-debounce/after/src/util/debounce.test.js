import { jest } from "@jest/globals";
import { debounce } from "./debounce.js";

describe("debounce", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test("calls once after the wait", () => {
    const fn = jest.fn();
    const debounced = debounce(fn, 100);
    debounced(1);
    debounced(2);
    jest.advanceTimersByTime(99);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(2);
  });

  test("calls again after a later burst", () => {
    const fn = jest.fn();
    const debounced = debounce(fn, 50);
    debounced("a");
    jest.advanceTimersByTime(50);
    debounced("b");
    jest.advanceTimersByTime(50);
    expect(fn.mock.calls).toEqual([["a"], ["b"]]);
  });
});
