#!/usr/bin/env python3
"""Drives `akin serve`'s page in headless Chromium (Debian's chromium and chromium-driver, Selenium):
picks COLLECTION, uploads IMAGE through the file input, waits for the result grid and prints JSON:
the hits read from the DOM (id, label, similarity), the verdict, the status line, whether every
control can be reached with Tab, and the browser's console messages.
  check_search_page.py URL COLLECTION IMAGE [--screenshot PNG] [--width 1000] [--key KEY]
"""
import argparse
import json
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("collection")
    p.add_argument("image")
    p.add_argument("--screenshot")
    p.add_argument("--width", type=int, default=1000)
    p.add_argument("--height", type=int, default=900)
    p.add_argument("--key")
    args = p.parse_args()

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={args.width},{args.height}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(args.url)
        wait = WebDriverWait(driver, 30)
        if args.key:
            field = driver.find_element(By.ID, "key")
            field.send_keys(args.key)
            field.send_keys(Keys.TAB)
        wait.until(lambda d: any(o.get_attribute("value") == args.collection for o in d.find_elements(By.CSS_SELECTOR, "#collection option")))
        Select(driver.find_element(By.ID, "collection")).select_by_value(args.collection)
        driver.find_element(By.ID, "file").send_keys(os.path.abspath(args.image))
        wait.until(lambda d: "results from" in d.find_element(By.ID, "status").text or "failed" in d.find_element(By.ID, "status").text)
        # Thumbnails arrive after the grid: wait for each hit to have settled on an image or its placeholder.
        wait.until(lambda d: all(h.find_elements(By.TAG_NAME, "img") or h.find_elements(By.CLASS_NAME, "noimage")
                                 for h in d.find_elements(By.CSS_SELECTOR, "#hits .hit")))
        hits = [dict(id=int(h.get_attribute("data-id")), label=h.get_attribute("data-label"),
                     similarity=float(h.get_attribute("data-similarity")), thumbnail=bool(h.find_elements(By.TAG_NAME, "img")),
                     text=h.text) for h in driver.find_elements(By.CSS_SELECTOR, "#hits .hit")]
        # Keyboard: Tab from the top reaches every control (keys go to the page, not to an element:
        # typing into the file input would be taken as a file name).
        from selenium.webdriver.common.action_chains import ActionChains
        driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
        reached = set()
        for _ in range(20):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            reached.add(driver.switch_to.active_element.get_attribute("id"))
        controls = ["collection", "k", "labels", "key", "file", "go"]
        result = dict(hits=hits, verdict=driver.find_element(By.ID, "verdict").text, status=driver.find_element(By.ID, "status").text,
                      keyboard_unreachable=[c for c in controls if c not in reached],
                      console=[dict(level=m["level"], message=m["message"]) for m in driver.get_log("browser")],
                      page_width=driver.execute_script("return document.documentElement.scrollWidth"),
                      window_width=driver.execute_script("return window.innerWidth"))
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
        print(json.dumps(result))
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
