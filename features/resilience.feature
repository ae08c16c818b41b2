@resilience
Feature: Resilience against Intune's limits and faults
  When Intune is down, slow, throttling or answering nonsense, the NAC fails closed and says so,
  backs off as asked, pages through long lists and never crashes.

  @RES-01 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario Outline: When Intune fails the NAC fails closed and reports MDM unreachable
    Given a device "laptop" that is compliant
    And Intune fails with <failure>
    When "laptop" connects over Wi-Fi
    Then "laptop" gets no access and the NAC reports MDM unreachable

    Examples:
      | failure            |
      | connection refused |
      | a timeout          |
      | HTTP 500           |
      | HTTP 503           |

  @RES-01 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: An Intune outage after onboarding does not open the network
    Given a device "laptop" that is compliant
    And a device "phone" that is compliant
    When "laptop" connects over Wi-Fi
    And Intune fails with HTTP 503
    And 5 minutes pass
    And "phone" connects over Wi-Fi
    Then "phone" gets no access and the NAC reports MDM unreachable

  @RES-02 @cr-cisco @legacy-cisco
  Scenario: The broad noncompliant query runs at most once per 4 hours
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    And 13 hours pass
    Then the NAC ran the broad query at most once per 4 hours and backed off on 503

  @RES-02 @cr-cisco @legacy-cisco
  Scenario: A 503 on the broad query leads to back-off, not a retry storm
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    And 3 hours pass
    And another node of the same NAC has just run the broad noncompliant query
    And 9 hours pass
    Then the NAC ran the broad query at most once per 4 hours and backed off on 503

  @RES-03 @graph
  Scenario: On 429 the NAC waits at least Retry-After before asking Graph again
    Given a device "laptop" that is compliant
    And the NAC under test is onboarded
    And Graph throttles the NAC with HTTP 429 and Retry-After 30 seconds for 45 seconds
    When "laptop" connects every 5 seconds for 2 minutes
    Then the NAC waited at least Retry-After, or backed off exponentially, before asking Graph again

  @RES-03 @graph
  Scenario: On 429 without Retry-After the NAC backs off exponentially
    Given a device "laptop" that is compliant
    And the NAC under test is onboarded
    And Graph throttles the NAC with HTTP 429 without Retry-After for 40 seconds
    When "laptop" connects every 1 second for 1 minute
    Then the NAC waited at least Retry-After, or backed off exponentially, before asking Graph again

  @RES-04 @coa @cr-cisco @legacy-cisco
  Scenario: With more noncompliant devices than fit a page, the NAC follows every page
    Given 230 devices that are compliant
    When every device connects over Wi-Fi
    And every device turns noncompliant
    And the declared polling interval passes
    Then the NAC followed every page and quarantined every noncompliant device

  @RES-05 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario Outline: Malformed answers never crash the NAC and never read as compliant
    Given a device "laptop" that is compliant
    And Intune answers with <malformation>
    When "laptop" connects over Wi-Fi
    Then the NAC neither crashed nor read the answer for "laptop" as compliant

    Examples:
      | malformation                            |
      | an empty compliance status              |
      | a body that is not the expected format  |

  @RES-05 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario Outline: Unexpected fields and timestamp variants never crash the NAC
    Given a device "laptop" that is noncompliant
    And a device "desktop" that is compliant
    And Intune answers with <variant>
    When "laptop" connects over Wi-Fi
    And "desktop" connects over Wi-Fi
    Then the NAC neither crashed nor read the answer for "laptop" as compliant
    And the NAC did not crash on the answer for "desktop"

    Examples:
      | variant                        |
      | unexpected fields              |
      | a timestamp with an offset     |
      | a timestamp without an offset  |

  @RES-04 @coa @graph
  Scenario: With more noncompliant devices than a Graph page holds, the NAC follows every nextLink
    Given 1010 devices that are compliant
    When every device connects over Wi-Fi
    And every device turns noncompliant
    And the declared polling interval passes
    Then the NAC followed every page and quarantined every noncompliant device
